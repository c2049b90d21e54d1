-- One deflection per visitor, query and article: "Yes, it answered" sent again (400 times in
-- 3.5 s by one visitor) must not inflate the self-service figures.
DELETE FROM deflections WHERE id NOT IN (
    SELECT min(id) FROM deflections GROUP BY visitor_id, query, article
);
CREATE UNIQUE INDEX deflections_once ON deflections (visitor_id, query, article);

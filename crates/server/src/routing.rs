//! Who gets a conversation: pure choice among candidates, and the live presence registry it
//! reads (agents' connections and status, held in memory; the database stays the source of
//! truth for assignments). With several nodes, each node announces the agents connected to it
//! (`RemoteAgent`, every second through the bus) and the registry answers for the whole
//! cluster: an agent is online if it is online on any node, and a node that stops announcing
//! is forgotten after `REMOTE_TTL`.

use protocol::{AgentPresence, PresenceStatus};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// One agent, as routing sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: i64,
    pub status: PresenceStatus,
    pub open: u32,
    pub capacity: u32,
    /// When this agent was last given a conversation (round-robin order).
    pub last_assigned: i64,
    /// Primary language tags the agent answers in; empty means any.
    pub languages: Vec<String>,
    pub teams: Vec<String>,
}

/// How routing picks among eligible agents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Strategy {
    /// The one assigned longest ago, then the least busy.
    #[default]
    RoundRobin,
    /// The one with the fewest open conversations, then the one assigned longest ago.
    LeastBusy,
}

/// Picks among online agents with free capacity by `strategy` (ties: the lowest id). A
/// conversation of a team goes only to that team's members.
/// Agents who speak the conversation's language (`lang`, a primary tag) go first; when none of
/// them has room, anyone eligible with room takes it. `None` sends the conversation to the
/// unassigned queue.
pub fn choose(
    candidates: &[Candidate],
    exclude: Option<i64>,
    lang: Option<&str>,
    team: Option<&str>,
    strategy: Strategy,
) -> Option<i64> {
    let eligible = || {
        candidates
            .iter()
            .filter(|c| c.status == PresenceStatus::Online && c.open < c.capacity)
            .filter(|c| Some(c.id) != exclude)
            .filter(|c| team.is_none_or(|t| c.teams.iter().any(|m| m == t)))
    };
    let speaks = |c: &&Candidate| match lang {
        Some(lang) => c.languages.iter().any(|l| l.eq_ignore_ascii_case(lang)),
        None => false,
    };
    let key = |c: &&Candidate| match strategy {
        Strategy::RoundRobin => (c.last_assigned, i64::from(c.open), c.id),
        Strategy::LeastBusy => (i64::from(c.open), c.last_assigned, c.id),
    };
    eligible()
        .filter(speaks)
        .min_by_key(key)
        .or_else(|| eligible().min_by_key(key))
        .map(|c| c.id)
}

/// How long another node's announcement of its agents holds.
pub const REMOTE_TTL: std::time::Duration = std::time::Duration::from_secs(3);

/// An agent connected to another node, as that node announces it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RemoteAgent {
    pub id: i64,
    pub name: String,
    pub languages: Vec<String>,
    pub teams: Vec<String>,
    pub connections: u32,
    pub status: PresenceStatus,
    pub last_assigned: i64,
}

#[derive(Debug, Clone)]
struct Entry {
    name: String,
    languages: Vec<String>,
    teams: Vec<String>,
    connections: u32,
    status: PresenceStatus,
    last_assigned: i64,
}

/// Connected agents and their status.
#[derive(Clone, Default)]
pub struct Presence {
    agents: Arc<Mutex<HashMap<i64, Entry>>>,
    /// Other nodes' agents, by node, with when the announcement runs out.
    remote: Arc<Mutex<HashMap<String, Announcement>>>,
}

/// Another node's agents, and when that announcement runs out.
type Announcement = (std::time::Instant, Vec<RemoteAgent>);

/// The more present of two statuses (online on one node is online).
fn best(a: PresenceStatus, b: PresenceStatus) -> PresenceStatus {
    let rank = |s| match s {
        PresenceStatus::Online => 2,
        PresenceStatus::Away => 1,
        PresenceStatus::Offline => 0,
    };
    if rank(b) > rank(a) { b } else { a }
}

impl Presence {
    /// A connection opened; returns true when the agent just came online. Skills are taken
    /// from the newest connection (an admin may have changed them).
    pub fn connect(&self, agent: &store::Agent) -> bool {
        let mut agents = self.agents.lock().expect("lock");
        let entry = agents.entry(agent.id).or_insert_with(|| Entry {
            name: agent.name.clone(),
            languages: Vec::new(),
            teams: Vec::new(),
            connections: 0,
            status: PresenceStatus::Offline,
            last_assigned: 0,
        });
        entry.languages = agent.languages.clone();
        entry.teams = agent.teams.clone();
        entry.connections += 1;
        let came_online = entry.status == PresenceStatus::Offline;
        if came_online {
            entry.status = PresenceStatus::Online;
        }
        came_online
    }

    /// A connection closed; returns true when it was the agent's last one.
    pub fn disconnect(&self, id: i64) -> bool {
        let mut agents = self.agents.lock().expect("lock");
        match agents.get_mut(&id) {
            Some(e) => {
                e.connections = e.connections.saturating_sub(1);
                e.connections == 0
            }
            None => false,
        }
    }

    /// The agent's connections on every node.
    pub fn connections(&self, id: i64) -> u32 {
        self.cluster().get(&id).map_or(0, |e| e.connections)
    }

    /// This node's agents, as announced to the others.
    pub fn local_snapshot(&self) -> Vec<RemoteAgent> {
        let mut out: Vec<RemoteAgent> = self
            .agents
            .lock()
            .expect("lock")
            .iter()
            .filter(|(_, e)| e.connections > 0)
            .map(|(&id, e)| RemoteAgent {
                id,
                name: e.name.clone(),
                languages: e.languages.clone(),
                teams: e.teams.clone(),
                connections: e.connections,
                status: e.status,
                last_assigned: e.last_assigned,
            })
            .collect();
        out.sort_by_key(|a| a.id);
        out
    }

    /// Another node's announcement. Returns whether the cluster's view changed (not counting
    /// round-robin times).
    pub fn merge_remote(&self, node: &str, agents: Vec<RemoteAgent>) -> bool {
        let visible = |list: &[RemoteAgent]| -> Vec<(i64, u32, PresenceStatus)> {
            list.iter()
                .map(|a| (a.id, a.connections, a.status))
                .collect()
        };
        let mut remote = self.remote.lock().expect("lock");
        let until = std::time::Instant::now() + REMOTE_TTL;
        let changed = remote
            .get(node)
            .is_none_or(|(_, old)| visible(old) != visible(&agents));
        remote.insert(node.to_owned(), (until, agents));
        changed
    }

    /// Forgets the nodes that stopped announcing; returns whether any was forgotten.
    pub fn expire_remote(&self) -> bool {
        let now = std::time::Instant::now();
        let mut remote = self.remote.lock().expect("lock");
        let before = remote.len();
        remote.retain(|_, (until, _)| *until > now);
        remote.len() != before
    }

    /// Every agent connected anywhere: this node's entries merged with the other nodes'.
    fn cluster(&self) -> HashMap<i64, Entry> {
        let mut all = self.agents.lock().expect("lock").clone();
        let now = std::time::Instant::now();
        for (until, agents) in self.remote.lock().expect("lock").values() {
            if *until <= now {
                continue;
            }
            for a in agents {
                let e = all.entry(a.id).or_insert_with(|| Entry {
                    name: a.name.clone(),
                    languages: a.languages.clone(),
                    teams: a.teams.clone(),
                    connections: 0,
                    status: PresenceStatus::Offline,
                    last_assigned: 0,
                });
                e.connections += a.connections;
                e.status = best(e.status, a.status);
                e.last_assigned = e.last_assigned.max(a.last_assigned);
            }
        }
        all
    }

    pub fn set_status(&self, id: i64, status: PresenceStatus) {
        if let Some(e) = self.agents.lock().expect("lock").get_mut(&id) {
            e.status = status;
        }
    }

    /// New skills for a connected agent (an admin changed them).
    pub fn set_skills(&self, id: i64, languages: &[String], teams: &[String]) {
        if let Some(e) = self.agents.lock().expect("lock").get_mut(&id) {
            e.languages = languages.to_vec();
            e.teams = teams.to_vec();
        }
    }

    pub fn status(&self, id: i64) -> PresenceStatus {
        self.cluster()
            .get(&id)
            .map_or(PresenceStatus::Offline, |e| e.status)
    }

    /// Agents online across the cluster.
    pub fn online_count(&self) -> u64 {
        self.cluster()
            .values()
            .filter(|e| e.status == PresenceStatus::Online)
            .count() as u64
    }

    pub fn any_online(&self) -> bool {
        self.cluster()
            .values()
            .any(|e| e.status == PresenceStatus::Online)
    }

    pub fn mark_assigned(&self, id: i64, now: i64) {
        if let Some(e) = self.agents.lock().expect("lock").get_mut(&id) {
            e.last_assigned = now;
        }
    }

    /// Routing candidates, given each agent's open-conversation count and capacity.
    pub fn candidates(&self, load: &HashMap<i64, u32>, capacity: u32) -> Vec<Candidate> {
        self.cluster()
            .iter()
            .map(|(&id, e)| Candidate {
                id,
                status: e.status,
                open: load.get(&id).copied().unwrap_or(0),
                capacity,
                last_assigned: e.last_assigned,
                languages: e.languages.clone(),
                teams: e.teams.clone(),
            })
            .collect()
    }

    /// Everyone known, for the console's team list.
    pub fn list(&self, load: &HashMap<i64, u32>) -> Vec<AgentPresence> {
        let mut out: Vec<AgentPresence> = self
            .cluster()
            .iter()
            .map(|(&id, e)| AgentPresence {
                id,
                name: e.name.clone(),
                status: e.status,
                open: load.get(&id).copied().unwrap_or(0),
                teams: e.teams.clone(),
            })
            .collect();
        out.sort_by_key(|a| a.id);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(id: i64, status: PresenceStatus) -> RemoteAgent {
        RemoteAgent {
            id,
            name: format!("agent {id}"),
            languages: Vec::new(),
            teams: vec!["billing".into()],
            connections: 1,
            status,
            last_assigned: 7,
        }
    }

    #[test]
    fn the_registry_answers_for_every_node_and_forgets_a_silent_one() {
        let p = Presence::default();
        let ana = store::Agent {
            id: 1,
            email: "ana@example.com".into(),
            name: "Ana".into(),
            admin: false,
            lead: false,
            disabled: false,
            languages: Vec::new(),
            teams: Vec::new(),
        };
        p.connect(&ana);
        p.set_status(1, PresenceStatus::Away);
        assert!(!p.any_online());
        // Ana is online on another node, Bo only there.
        assert!(p.merge_remote(
            "node-b",
            vec![
                remote(1, PresenceStatus::Online),
                remote(2, PresenceStatus::Online)
            ]
        ));
        assert!(p.any_online());
        assert_eq!(p.status(1), PresenceStatus::Online, "online on any node");
        assert_eq!(p.connections(1), 2);
        let ids: Vec<i64> = p
            .candidates(&HashMap::new(), 5)
            .iter()
            .map(|c| c.id)
            .collect();
        assert!(ids.contains(&1) && ids.contains(&2));
        assert_eq!(
            p.local_snapshot().len(),
            1,
            "only this node's own are announced"
        );
        // The same announcement again changes nothing; a silent node is forgotten.
        assert!(!p.merge_remote(
            "node-b",
            vec![
                remote(1, PresenceStatus::Online),
                remote(2, PresenceStatus::Online)
            ]
        ));
        p.remote.lock().unwrap().get_mut("node-b").unwrap().0 = std::time::Instant::now();
        assert!(p.expire_remote());
        assert_eq!(p.status(2), PresenceStatus::Offline);
        assert_eq!(p.status(1), PresenceStatus::Away);
    }

    fn c(id: i64, status: PresenceStatus, open: u32, last: i64) -> Candidate {
        Candidate {
            id,
            status,
            open,
            capacity: 2,
            last_assigned: last,
            languages: Vec::new(),
            teams: Vec::new(),
        }
    }

    #[test]
    fn round_robin_among_online_agents_with_capacity() {
        use PresenceStatus::*;
        let agents = [
            c(1, Online, 0, 10),
            c(2, Online, 0, 5),
            c(3, Away, 0, 0),
            c(4, Online, 2, 0),
        ];
        assert_eq!(
            choose(&agents, None, None, None, Strategy::RoundRobin),
            Some(2),
            "longest since last assignment"
        );
        assert_eq!(
            choose(&agents, Some(2), None, None, Strategy::RoundRobin),
            Some(1),
            "a transfer excludes the holder"
        );
        assert_eq!(
            choose(
                &[c(1, Online, 2, 0), c(3, Offline, 0, 0)],
                None,
                None,
                None,
                Strategy::RoundRobin
            ),
            None,
            "queue"
        );
    }

    #[test]
    fn language_skills_go_first_then_anyone_with_room() {
        use PresenceStatus::*;
        let mut pt = c(7, Online, 1, 50);
        pt.languages = vec!["pt".into()];
        let mut full_pt = c(8, Online, 2, 0);
        full_pt.languages = vec!["pt".into()];
        let agents = [c(1, Online, 0, 0), pt, full_pt];
        assert_eq!(
            choose(&agents, None, Some("pt"), None, Strategy::RoundRobin),
            Some(7),
            "the free Portuguese speaker"
        );
        assert_eq!(
            choose(&agents, None, Some("tr"), None, Strategy::RoundRobin),
            Some(1),
            "nobody speaks Turkish: round-robin"
        );
        assert_eq!(
            choose(&agents, Some(7), Some("pt"), None, Strategy::RoundRobin),
            Some(1),
            "speakers full: anyone"
        );
    }

    #[test]
    fn a_team_conversation_goes_only_to_team_members() {
        use PresenceStatus::*;
        let mut billing = c(5, Online, 1, 99);
        billing.teams = vec!["billing".into()];
        let agents = [c(1, Online, 0, 0), billing.clone()];
        assert_eq!(
            choose(&agents, None, None, Some("billing"), Strategy::RoundRobin),
            Some(5)
        );
        assert_eq!(
            choose(
                &agents,
                Some(5),
                None,
                Some("billing"),
                Strategy::RoundRobin
            ),
            None,
            "no other member: the team's queue"
        );
        billing.open = 2;
        assert_eq!(
            choose(
                &[c(1, Online, 0, 0), billing],
                None,
                None,
                Some("billing"),
                Strategy::RoundRobin
            ),
            None,
            "members full: queue, not someone outside the team"
        );
        assert_eq!(
            choose(&agents, None, None, None, Strategy::RoundRobin),
            Some(1)
        );
    }

    #[test]
    fn least_busy_takes_the_agent_with_the_fewest_open_conversations() {
        use PresenceStatus::*;
        let agents = [c(1, Online, 1, 0), c(2, Online, 0, 50)];
        assert_eq!(
            choose(&agents, None, None, None, Strategy::RoundRobin),
            Some(1)
        );
        assert_eq!(
            choose(&agents, None, None, None, Strategy::LeastBusy),
            Some(2)
        );
    }

    #[test]
    fn presence_counts_connections() {
        let p = Presence::default();
        let ana = store::Agent {
            id: 1,
            email: "ana@example.com".into(),
            name: "Ana".into(),
            admin: false,
            lead: false,
            disabled: false,
            languages: Vec::new(),
            teams: vec!["billing".into()],
        };
        assert!(p.connect(&ana));
        assert!(!p.connect(&ana), "second tab");
        assert_eq!(p.list(&HashMap::new())[0].teams, ["billing"]);
        assert!(!p.disconnect(1));
        assert!(p.disconnect(1), "last tab closed");
        assert_eq!(p.connections(1), 0);
    }
}

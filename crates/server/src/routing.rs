//! Who gets a conversation: pure choice among candidates, and the live presence registry it
//! reads (agents' connections and status, held in memory; the database stays the source of
//! truth for assignments).

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

    pub fn connections(&self, id: i64) -> u32 {
        self.agents
            .lock()
            .expect("lock")
            .get(&id)
            .map_or(0, |e| e.connections)
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
        self.agents
            .lock()
            .expect("lock")
            .get(&id)
            .map_or(PresenceStatus::Offline, |e| e.status)
    }

    pub fn any_online(&self) -> bool {
        self.agents
            .lock()
            .expect("lock")
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
        self.agents
            .lock()
            .expect("lock")
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
            .agents
            .lock()
            .expect("lock")
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

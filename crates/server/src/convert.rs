//! Maps storage records to wire types (the only place the two meet).

use protocol::{Author, ConversationStatus, ConversationSummary, Message};
use store::{Conversation, MessageAuthor, Status, StoredMessage};

pub fn message(m: StoredMessage) -> Message {
    Message {
        conversation: m.conversation_id,
        seq: m.seq,
        id: m.client_id,
        author: match m.author {
            MessageAuthor::Visitor => Author::Visitor,
            MessageAuthor::Agent { id, name } => Author::Agent { id, name },
        },
        body: m.body,
        at: m.at,
        attachments: m.attachments,
    }
}

pub fn summary(c: Conversation) -> ConversationSummary {
    let due = |kind| c.due(kind);
    let (first_response_due, next_response_due, resolution_due) = (
        due(store::SlaKind::FirstResponse),
        due(store::SlaKind::NextResponse),
        due(store::SlaKind::Resolution),
    );
    ConversationSummary {
        id: c.id,
        site: c.site,
        status: match c.status {
            Status::Open => ConversationStatus::Open,
            Status::Resolved => ConversationStatus::Resolved,
        },
        last_seq: c.last_seq,
        created_at: c.created_at,
        updated_at: c.updated_at,
        preview: c.preview,
        page_url: c.page_url,
        locale: c.locale,
        context: c
            .context
            .as_deref()
            .and_then(|j| serde_json::from_str(j).ok()),
        contact_name: c.contact_name,
        contact_email: c.contact_email,
        rating: c.rating,
        rating_comment: c.rating_comment,
        visitor_read: c.visitor_read,
        assignee: c.assignee.map(|(id, name)| protocol::AgentRef { id, name }),
        priority: protocol::Priority::parse(&c.priority).unwrap_or_default(),
        first_response_due,
        first_response_at: c.first_response_at,
        next_response_due,
        resolution_due,
        sla_breached_at: c.sla_breached_at,
        labels: c.labels,
        team: c.team,
        waiting_on_customer: c.last_author.as_deref() == Some("agent"),
        contact_id: c.contact_id,
        contact_verified: c.contact_verified,
    }
}

pub fn note(n: store::StoredNote) -> protocol::Note {
    protocol::Note {
        conversation: n.conversation_id,
        id: n.client_id,
        agent: protocol::AgentRef {
            id: n.agent_id,
            name: n.agent_name,
        },
        body: n.body,
        at: n.at,
    }
}

pub fn agent(a: &store::Agent) -> protocol::AgentInfo {
    protocol::AgentInfo {
        id: a.id,
        name: a.name.clone(),
        email: a.email.clone(),
        admin: a.admin,
        lead: a.lead,
    }
}

pub fn contact_ref(c: &store::Contact) -> protocol::ContactRef {
    protocol::ContactRef {
        id: c.id,
        name: c.name.clone(),
        email: c.email.clone(),
        external_id: c.external_id.clone(),
    }
}

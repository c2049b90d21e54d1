//! Two real `frontdesk serve` processes on one PostgreSQL database and one Redis (the README's
//! "Production" setup without the proxy): the customer writes on node A, the agent reads on
//! node B; node A is killed with SIGKILL while the customer writes; the customer reconnects to
//! node B with its token and last sequence number and goes on: the agent receives every message
//! exactly once, in order.
//!
//! Needs `FRONTDESK_TEST_DATABASE_URL` and `FRONTDESK_TEST_REDIS_URL` (`cargo xtask test`).

mod common;

use common::ws::{send, wait_for};

use protocol::ServerFrame;

const PASSWORD: &str = "agent-password";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_conversation_loses_nothing_and_the_customer_resumes_on_the_other() {
    let Some(database) = store::conformance::postgres_database("bin_nodes").await else {
        return;
    };
    let Some(redis) = common::redis_url() else {
        return;
    };
    // The first admin, made with the CLI on the shared database.
    common::add_admin_ana(&database, PASSWORD);
    let env = [
        ("FRONTDESK_DATABASE", database.as_str()),
        ("FRONTDESK_REDIS", redis.as_str()),
    ];
    let mut a = common::start(&env);
    let b = common::start(&env);

    let (status, cookie) = common::ws::sign_in(&b.addr, "ana@example.com", PASSWORD).await;
    assert_eq!(status, 200);
    let cookie = cookie.unwrap();
    let mut agent = common::ws::connect(&b.addr, "/ws/agent", Some(&cookie)).await;
    send(&mut agent, r#"{"type":"hello","v":1}"#).await;
    wait_for(&mut agent, "agent_welcome", |f| {
        matches!(f, ServerFrame::AgentWelcome { .. })
    })
    .await;

    // The customer writes five messages on node A.
    let mut customer = common::ws::connect(&a.addr, "/ws/visitor", None).await;
    send(&mut customer, r#"{"type":"hello","v":1,"site":"demo"}"#).await;
    let ServerFrame::Welcome { token, .. } = wait_for(&mut customer, "welcome", |f| {
        matches!(f, ServerFrame::Welcome { .. })
    })
    .await
    else {
        unreachable!()
    };
    let token = token.unwrap();
    let mut conversation = 0;
    let mut last_seq = 0;
    for i in 1..=5 {
        send(
            &mut customer,
            &format!(r#"{{"type":"send","id":"m{i}","body":"message {i}"}}"#),
        )
        .await;
        let ServerFrame::Ack {
            conversation: c,
            seq,
            ..
        } = wait_for(&mut customer, "ack", |f| {
            matches!(f, ServerFrame::Ack { .. })
        })
        .await
        else {
            unreachable!()
        };
        (conversation, last_seq) = (c, seq);
    }
    send(
        &mut agent,
        &format!(r#"{{"type":"open","conversation":{conversation},"after_seq":0}}"#),
    )
    .await;

    // Node A dies (SIGKILL) with the customer connected; it reconnects to node B.
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    let mut customer = common::ws::connect(&b.addr, "/ws/visitor", None).await;
    send(
        &mut customer,
        &format!(
            r#"{{"type":"hello","v":1,"site":"demo","token":"{token}","last_seq":{last_seq}}}"#
        ),
    )
    .await;
    let ServerFrame::Welcome {
        conversation: resumed,
        last_seq: server_last,
        ..
    } = wait_for(&mut customer, "welcome", |f| {
        matches!(f, ServerFrame::Welcome { .. })
    })
    .await
    else {
        unreachable!()
    };
    assert_eq!((resumed, server_last), (Some(conversation), 5));
    for i in 6..=10 {
        send(
            &mut customer,
            &format!(r#"{{"type":"send","id":"m{i}","body":"message {i}"}}"#),
        )
        .await;
        let ServerFrame::Ack { seq, .. } = wait_for(&mut customer, "ack", |f| {
            matches!(f, ServerFrame::Ack { .. })
        })
        .await
        else {
            unreachable!()
        };
        assert_eq!(seq, i, "gap-free after the failover");
    }
    // The agent has every message once, in order.
    let mut seen = Vec::new();
    while seen.len() < 10 {
        if let ServerFrame::Message(m) = wait_for(&mut agent, "the messages", |f| {
            matches!(f, ServerFrame::Message(_))
        })
        .await
        {
            seen.push(m.seq);
        }
    }
    assert_eq!(seen, (1..=10).collect::<Vec<u64>>());
}

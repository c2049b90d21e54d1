//! Email continuity, without IO: the server sends what [`compose`] builds and feeds what
//! arrives to [`inbound`].
//!
//! A conversation's emails come from a signed reply address (`reply+ID.SIG@domain`) and carry
//! signed Message-IDs (`<fd.ID.SEQ.SIG@domain>`), so the customer's answer finds its
//! conversation by the address it was sent to or by the message it answers, and nobody can
//! write into a conversation by guessing its number ([`ReplyKey`]).

mod compose;
mod inbound;
mod reply;
mod strings;

pub use compose::{Line, Outgoing, Thread, compose};
pub use inbound::{Inbound, InboundError, parse, trim_reply};
pub use reply::ReplyKey;
pub use strings::{Strings, strings};

//! LPProto (seed 000): the codec ([`codec`]: text messages <-> [`Message`]) and the connection
//! state machine ([`connection`]: what each message, frame result and clock tick makes the
//! server do), both free of sockets and pipelines so that every protocol rule is unit-tested.

pub mod codec;
pub mod connection;

pub use codec::{Message, ProtoError, VERSION};
pub use connection::{
    Action, AttemptEffect, CloseCode, ConnectRequest, Connection, FrameAnswer, Incoming, Limits, Outcome,
};

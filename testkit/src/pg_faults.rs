//! The PostgreSQL side of the fault proxy ([`crate::DbFaultProxy`]): reads the client's
//! protocol messages; a failing statement is replaced by `SELECT 1/0`.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::db_faults::{forward, is_changing, State};

/// Relays one session, reading the client's messages to apply the plan.
pub(crate) async fn relay(mut client: TcpStream, server: TcpStream, state: Arc<Mutex<State>>) {
    let (mut server_read, mut server_write) = server.into_split();
    let (mut client_read, mut client_write) = client.split();
    let to_client = async {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
    };
    let to_server = async {
        // The startup message: a length (itself included) and a body, no type byte.
        let mut len = [0u8; 4];
        if client_read.read_exact(&mut len).await.is_err() {
            return;
        }
        let n = u32::from_be_bytes(len) as usize;
        let mut body = vec![0u8; n.saturating_sub(4)];
        if client_read.read_exact(&mut body).await.is_err() {
            return;
        }
        if server_write.write_all(&len).await.is_err()
            || server_write.write_all(&body).await.is_err()
        {
            return;
        }
        loop {
            let mut head = [0u8; 5];
            if client_read.read_exact(&mut head).await.is_err() {
                return;
            }
            let n = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
            let mut body = vec![0u8; n.saturating_sub(4)];
            if client_read.read_exact(&mut body).await.is_err() {
                return;
            }
            let mut fault = None;
            if head[0] == b'Q' && is_changing(&String::from_utf8_lossy(&body)) {
                fault = state.lock().unwrap().statement();
            }
            let failing = || {
                let query = b"SELECT 1/0\0";
                let mut message = vec![b'Q'];
                message.extend_from_slice(&((query.len() + 4) as u32).to_be_bytes());
                message.extend_from_slice(query);
                message
            };
            if !forward(&mut server_write, fault, &[&head, &body], failing).await {
                return;
            }
        }
    };
    // Either side ending ends the session (dropping both sockets cuts it).
    tokio::select! {
        _ = to_client => {}
        _ = to_server => {}
    }
}

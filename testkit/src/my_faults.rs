//! The MySQL side of the fault proxy ([`crate::DbFaultProxy`]): reads the client's packets
//! (3-byte length, sequence number, payload); a changing `COM_QUERY` can be cut off after it is
//! forwarded or replaced by a query that fails (a missing table, error 1146).

use std::sync::{Arc, Mutex};

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use crate::db_faults::{forward, is_changing, State};

/// The command byte of a text query.
const COM_QUERY: u8 = 0x03;

/// Relays one session, reading the client's packets to apply the plan.
pub(crate) async fn relay(mut client: TcpStream, server: TcpStream, state: Arc<Mutex<State>>) {
    let (mut server_read, mut server_write) = server.into_split();
    let (mut client_read, mut client_write) = client.split();
    let to_client = async {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
    };
    let to_server = async {
        loop {
            let mut head = [0u8; 4];
            if client_read.read_exact(&mut head).await.is_err() {
                return;
            }
            let n = u32::from_le_bytes([head[0], head[1], head[2], 0]) as usize;
            let mut body = vec![0u8; n];
            if client_read.read_exact(&mut body).await.is_err() {
                return;
            }
            let mut fault = None;
            // A command starts a new sequence (0); the handshake and auth packets do not.
            if head[3] == 0
                && body.first() == Some(&COM_QUERY)
                && is_changing(&String::from_utf8_lossy(&body[1..]))
            {
                fault = state.lock().unwrap().statement();
            }
            let failing = || {
                let mut payload = vec![COM_QUERY];
                payload.extend_from_slice(b"SELECT * FROM mysql.no_such_table_for_a_fault");
                let len = (payload.len() as u32).to_le_bytes();
                [&len[..3], &[0u8], &payload[..]].concat()
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

//! An async client for BIRD's control socket (what `birdc` speaks), for both flavours.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

use super::DaemonError;
use super::binary::Flavour;
use routelab_model::observed::{OspfNeighbor, ProtocolDetail, ProtocolRow};

use super::parse;
use super::reply::{Reply, ReplyAssembler, is_error};

/// How long a command may take by default before [`DaemonError::Timeout`].
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection to one BIRD's control socket.
///
/// Commands are sent one at a time; each waits for BIRD's whole reply. The connection
/// stays usable after a command BIRD refused.
#[derive(Debug)]
pub struct BirdClient {
    stream: BufReader<UnixStream>,
    socket: PathBuf,
    version: String,
    timeout: Duration,
    /// Set when a reply was cut short (timeout, garbage): the next bytes on the connection
    /// would belong to the old reply, so further commands are refused.
    broken: Option<String>,
}

impl BirdClient {
    /// Connects to `socket` and reads BIRD's greeting (`0001 BIRD 2.0.12 ready.`).
    pub async fn connect(socket: impl AsRef<Path>) -> Result<BirdClient, DaemonError> {
        let socket = socket.as_ref().to_path_buf();
        let stream = UnixStream::connect(&socket)
            .await
            .map_err(|source| DaemonError::Connect {
                socket: socket.clone(),
                source,
            })?;
        let mut client = BirdClient {
            stream: BufReader::new(stream),
            socket,
            version: String::new(),
            timeout: DEFAULT_COMMAND_TIMEOUT,
            broken: None,
        };
        let greeting = client.read_reply("(greeting)").await?;
        client.version = greeting
            .lines
            .first()
            .and_then(|l| l.text.strip_prefix("BIRD "))
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_default()
            .to_string();
        Ok(client)
    }

    /// The version BIRD announced, e.g. `2.0.12` (empty if the greeting had none).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The flavour BIRD announced, if it is one routelab knows.
    pub fn flavour(&self) -> Option<Flavour> {
        Flavour::of_version(&self.version)
    }

    /// The socket this client is connected to.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Sets how long one command may take (default 10 s).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Sends `command` (as typed at `birdc`) and returns BIRD's reply.
    ///
    /// A reply with an error code (8xxx run-time, 9xxx parse) becomes
    /// [`DaemonError::Bird`] with BIRD's text. After a [`DaemonError::Timeout`] or
    /// [`DaemonError::Protocol`] the connection is out of step with BIRD and every further
    /// command fails: connect again.
    pub async fn command(&mut self, command: &str) -> Result<Reply, DaemonError> {
        if let Some(why) = &self.broken {
            return Err(DaemonError::Protocol {
                socket: self.socket.clone(),
                detail: format!(
                    "connection unusable after an earlier failure ({why}); connect again"
                ),
            });
        }
        if command.contains(['\n', '\r']) {
            return Err(DaemonError::BadCommand {
                command: command.into(),
            });
        }
        let io_err = |e: std::io::Error| DaemonError::Protocol {
            socket: self.socket.clone(),
            detail: format!("sending `{command}`: {e}"),
        };
        let line = format!("{command}\n");
        let write = self.stream.get_mut().write_all(line.as_bytes());
        let written = match tokio::time::timeout(self.timeout, write).await {
            Ok(result) => result.map_err(io_err),
            Err(_) => Err(self.timeout_error(command)),
        };
        if let Err(e) = written {
            self.broken = Some(e.to_string());
            return Err(e);
        }
        let reply = self.read_reply(command).await?;
        if let Some(err) = reply.error() {
            return Err(DaemonError::Bird {
                command: command.into(),
                code: err.code,
                message: reply
                    .lines
                    .iter()
                    .filter(|l| is_error(l.code))
                    .map(|l| l.text.as_str())
                    .collect::<Vec<_>>()
                    .join("\n"),
            });
        }
        Ok(reply)
    }

    /// `show protocols`: one row per protocol.
    pub async fn protocols(&mut self) -> Result<Vec<ProtocolRow>, DaemonError> {
        let command = "show protocols";
        let reply = self.command(command).await?;
        parse::protocol_rows(command, &reply)
    }

    /// `show protocols all NAME`: the row plus BGP state, neighbor, last error and route
    /// counters.
    pub async fn protocol(&mut self, name: &str) -> Result<ProtocolDetail, DaemonError> {
        let command = format!("show protocols all {name}");
        let reply = match self.command(&command).await {
            Ok(reply) => reply,
            // BIRD 2 parses an unknown name as a syntax error; BIRD 1.6 says
            // "NAME is not a protocol" (9002). Either way the protocol does not exist.
            Err(DaemonError::Bird { code, message, .. })
                if code == 9002 || message.contains("CF_SYM_UNDEFINED") =>
            {
                return Err(DaemonError::NoSuchProtocol { name: name.into() });
            }
            Err(e) => return Err(e),
        };
        parse::protocol_details(&command, &reply)?
            .into_iter()
            .find(|d| d.row.name == name)
            .ok_or_else(|| DaemonError::NoSuchProtocol { name: name.into() })
    }

    /// `show protocols all`: every protocol in detail.
    pub async fn protocols_all(&mut self) -> Result<Vec<ProtocolDetail>, DaemonError> {
        let command = "show protocols all";
        let reply = self.command(command).await?;
        parse::protocol_details(command, &reply)
    }

    /// `show ospf neighbors PROTO`: the neighbors of one OSPF protocol.
    pub async fn ospf_neighbors(&mut self, proto: &str) -> Result<Vec<OspfNeighbor>, DaemonError> {
        let command = format!("show ospf neighbors {proto}");
        let reply = self.command(&command).await?;
        parse::ospf_neighbors(&command, &reply)
    }

    /// The raw lines of `command`'s reply, as BIRD sent them (for reports).
    pub async fn raw_lines(&mut self, command: &str) -> Result<Vec<String>, DaemonError> {
        Ok(self.command(command).await?.raw)
    }

    async fn read_reply(&mut self, command: &str) -> Result<Reply, DaemonError> {
        let timeout = self.timeout;
        let result = match tokio::time::timeout(timeout, self.read_reply_untimed(command)).await {
            Ok(result) => result,
            Err(_) => Err(self.timeout_error(command)),
        };
        if let Err(e @ (DaemonError::Timeout { .. } | DaemonError::Protocol { .. })) = &result {
            self.broken = Some(e.to_string());
        }
        result
    }

    async fn read_reply_untimed(&mut self, command: &str) -> Result<Reply, DaemonError> {
        let mut asm = ReplyAssembler::new();
        let mut buf = Vec::new();
        loop {
            buf.clear();
            let n = self.stream.read_until(b'\n', &mut buf).await.map_err(|e| {
                DaemonError::Protocol {
                    socket: self.socket.clone(),
                    detail: format!("reading the reply to `{command}`: {e}"),
                }
            })?;
            if n == 0 {
                return Err(DaemonError::Protocol {
                    socket: self.socket.clone(),
                    detail: format!(
                        "BIRD closed the connection in the middle of the reply to `{command}`"
                    ),
                });
            }
            let line = String::from_utf8_lossy(&buf);
            match asm.push(&line) {
                Ok(true) => return Ok(asm.finish()),
                Ok(false) => {}
                Err(detail) => {
                    return Err(DaemonError::Protocol {
                        socket: self.socket.clone(),
                        detail: format!("in the reply to `{command}`: {detail}"),
                    });
                }
            }
        }
    }

    fn timeout_error(&self, command: &str) -> DaemonError {
        DaemonError::Timeout {
            socket: self.socket.clone(),
            command: command.into(),
            after: self.timeout,
        }
    }
}

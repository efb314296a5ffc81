//! A raw ICMP or ICMPv6 socket that sends echo requests and picks out what answers them.
//!
//! Must be opened on a thread inside the namespace to probe from (see [`Netns::run`]); the
//! socket stays bound to that namespace.
//!
//! Every raw ICMP socket in a namespace receives a copy of every ICMP message, so several
//! probes can run side by side only if each recognises its own: each socket takes an echo
//! identifier no other socket of this process is using, and keeps only echo replies with
//! that identifier and errors quoting a request with that identifier to its destination.
//!
//! [`Netns::run`]: crate::net::Netns::run

use std::io::{self, IoSliceMut};
use std::net::{IpAddr, SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Instant;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::{
    AddressFamily, ControlMessageOwned, MsgFlags, SockFlag, SockProtocol, SockType,
    SockaddrStorage, bind, recvmsg, sendto, setsockopt, socket, sockopt,
};

use super::icmp::{self, Message};

/// Hands out echo identifiers: distinct within this process for 65536 sockets in a row, and
/// offset by the process id so that two routelab processes are unlikely to collide.
fn next_ident() -> u16 {
    static COUNTER: AtomicU16 = AtomicU16::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    // An odd multiplier permutes u16, so consecutive sockets get well-spread identifiers.
    (std::process::id() as u16).wrapping_add(n.wrapping_mul(0x9e37))
}

/// Why the local stack refused to send a probe at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LocalRefusal {
    /// The packet is larger than the outgoing interface's MTU and may not be fragmented.
    TooBig { mtu: u32 },
    /// No route, a reject route, or a local firewall rule: the kernel's own words.
    Unreachable { description: String },
}

/// An ICMP message about one of this socket's requests.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    /// Who sent it: the destination for a reply, a router or the destination for an error.
    pub from: IpAddr,
    /// The message's own IP TTL (IPv4) or hop limit (IPv6) on arrival.
    pub ttl: u8,
    pub message: Message,
    pub at: Instant,
}

impl Received {
    /// The sequence number of the request this answers.
    pub fn seq(&self) -> u16 {
        match self.message {
            Message::EchoReply { seq, .. } | Message::Error { seq, .. } => seq,
        }
    }
}

/// A raw socket sending echo requests to one destination.
pub(crate) struct EchoSocket {
    fd: OwnedFd,
    dst: IpAddr,
    src: Option<IpAddr>,
    ident: u16,
    buf: Vec<u8>,
}

impl EchoSocket {
    /// Opens a socket in the calling thread's namespace.
    ///
    /// With `dont_fragment`, IPv4 packets carry DF and IPv6 packets are never fragmented by
    /// this host, and the kernel's cached path MTU is ignored (`*_PMTUDISC_PROBE`): what was
    /// learnt from earlier probes cannot stop a packet before it leaves, and only the
    /// outgoing interface's MTU is enforced locally. Without it, IPv4 packets go out without
    /// DF and are fragmented by this host only to fit the interface (`IP_PMTUDISC_OMIT`),
    /// leaving any further fragmentation to routers; IPv6 keeps the kernel's normal path MTU
    /// discovery, as only the source may fragment there.
    pub fn open(dst: IpAddr, src: Option<IpAddr>, dont_fragment: bool) -> io::Result<Self> {
        if let Some(src) = src.filter(|s| s.is_ipv4() != dst.is_ipv4()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("source {src} and destination {dst} differ in family"),
            ));
        }
        let flags = SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC;
        let fd = match dst {
            IpAddr::V4(_) => {
                let fd = socket(
                    AddressFamily::Inet,
                    SockType::Raw,
                    flags,
                    SockProtocol::Icmp,
                )?;
                // IP_RECVERR makes the kernel say which MTU refused a local send.
                setsockopt(&fd, sockopt::Ipv4RecvErr, &true)?;
                let mode = if dont_fragment {
                    libc::IP_PMTUDISC_PROBE
                } else {
                    libc::IP_PMTUDISC_OMIT
                };
                set_int(&fd, libc::IPPROTO_IP, libc::IP_MTU_DISCOVER, mode)?;
                fd
            }
            IpAddr::V6(_) => {
                let fd = socket(
                    AddressFamily::Inet6,
                    SockType::Raw,
                    flags,
                    SockProtocol::IcmpV6,
                )?;
                setsockopt(&fd, sockopt::Ipv6RecvErr, &true)?;
                setsockopt(&fd, sockopt::Ipv6RecvHopLimit, &true)?;
                setsockopt(&fd, sockopt::Ipv6DontFrag, &dont_fragment)?;
                if dont_fragment {
                    set_int(
                        &fd,
                        libc::IPPROTO_IPV6,
                        libc::IPV6_MTU_DISCOVER,
                        libc::IPV6_PMTUDISC_PROBE,
                    )?;
                }
                fd
            }
        };
        if let Some(src) = src {
            bind(fd.as_raw_fd(), &sockaddr(src)).map_err(|e| {
                io::Error::new(io::Error::from(e).kind(), format!("binding to {src}: {e}"))
            })?;
        }
        Ok(EchoSocket {
            fd,
            dst,
            src,
            ident: next_ident(),
            buf: vec![0u8; 65536],
        })
    }

    /// The destination probed.
    pub fn dst(&self) -> IpAddr {
        self.dst
    }

    /// Sets the TTL (IPv4) or unicast hop limit (IPv6) of the requests sent from now on.
    pub fn set_ttl(&self, ttl: u8) -> io::Result<()> {
        match self.dst {
            IpAddr::V4(_) => setsockopt(&self.fd, sockopt::Ipv4Ttl, &i32::from(ttl))?,
            IpAddr::V6(_) => setsockopt(&self.fd, sockopt::Ipv6Ttl, &i32::from(ttl))?,
        }
        Ok(())
    }

    /// The address this host sends from towards the destination: the bound source, or the
    /// one the routing table picks (found by connecting a UDP socket; no packet is sent), or
    /// the unspecified address if there is no route.
    pub fn local_address(&self) -> IpAddr {
        let unspecified = match self.dst {
            IpAddr::V4(_) => IpAddr::V4(0.into()),
            IpAddr::V6(_) => IpAddr::V6(0.into()),
        };
        if let Some(src) = self.src {
            return src;
        }
        UdpSocket::bind(SocketAddr::new(unspecified, 0))
            .and_then(|udp| {
                udp.connect(SocketAddr::new(self.dst, 9))?;
                udp.local_addr()
            })
            .map_or(unspecified, |local| local.ip())
    }

    /// Sends echo request `seq` as an IP packet of `size` bytes.
    ///
    /// Returns when it was sent, or why the local stack refused it; other failures are
    /// errors.
    pub fn send(&mut self, seq: u16, size: usize) -> io::Result<Result<Instant, LocalRefusal>> {
        let request = icmp::echo_request(self.dst.is_ipv6(), self.ident, seq, size);
        let sent = Instant::now();
        match sendto(
            self.fd.as_raw_fd(),
            &request,
            &sockaddr(self.dst),
            MsgFlags::empty(),
        ) {
            Ok(_) => Ok(Ok(sent)),
            Err(Errno::EMSGSIZE) => match self.local_mtu_error()? {
                Some(mtu) => Ok(Err(LocalRefusal::TooBig { mtu })),
                None => Err(io::Error::other(format!(
                    "sending {size} bytes to {}: message too long, and the kernel gave no MTU",
                    self.dst
                ))),
            },
            Err(
                e @ (Errno::ENETUNREACH
                | Errno::EHOSTUNREACH
                | Errno::EPERM
                | Errno::EACCES
                | Errno::EADDRNOTAVAIL
                | Errno::EINVAL),
            ) => Ok(Err(LocalRefusal::Unreachable {
                description: e.desc().to_string(),
            })),
            Err(e) => Err(io::Error::new(
                io::Error::from(e).kind(),
                format!("sending echo request to {}: {e}", self.dst),
            )),
        }
    }

    /// Waits until `deadline` for the next message about one of this socket's requests.
    pub fn recv(&mut self, deadline: Instant) -> io::Result<Option<Received>> {
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            // Round up so a sub-millisecond remainder still waits instead of spinning.
            let wait_ms = (deadline - now).as_micros().div_ceil(1000);
            let timeout = PollTimeout::try_from(wait_ms).unwrap_or(PollTimeout::MAX);
            let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, timeout) {
                Ok(0) => continue,
                Ok(_) => {}
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
            let revents = fds[0].revents().unwrap_or(PollFlags::empty());
            if revents.contains(PollFlags::POLLERR) {
                // ICMP errors are also queued on the error queue (IP_RECVERR) and may set a
                // pending socket error; both would keep poll() waking. The messages
                // themselves arrive as ordinary packets too, which is where they are read.
                self.clear_errors()?;
            }
            if revents.contains(PollFlags::POLLIN) {
                if let Some(received) = self.read_one()? {
                    return Ok(Some(received));
                }
            }
        }
    }

    /// Reads one queued packet; `None` if it is not about this socket's requests.
    fn read_one(&mut self) -> io::Result<Option<Received>> {
        let v6 = self.dst.is_ipv6();
        let mut cmsg = nix::cmsg_space!(libc::c_int);
        let mut iov = [IoSliceMut::new(&mut self.buf)];
        let msg = match recvmsg::<SockaddrStorage>(
            self.fd.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::MSG_DONTWAIT,
        ) {
            Ok(msg) => msg,
            // A pending error reported in place of data has now been cleared; so has a
            // packet that vanished between poll and read.
            Err(Errno::EAGAIN | Errno::EINTR) => return Ok(None),
            Err(e) if is_icmp_errno(e) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let at = Instant::now();
        let Some(from) = msg.address.as_ref().and_then(ip_of) else {
            return Ok(None);
        };
        let mut hop_limit = None;
        if let (true, Ok(cmsgs)) = (v6, msg.cmsgs()) {
            for c in cmsgs {
                if let ControlMessageOwned::Ipv6HopLimit(h) = c {
                    hop_limit = u8::try_from(h).ok();
                }
            }
        }
        let bytes = msg.bytes;
        let data = &self.buf[..bytes];
        let (ttl, message) = if v6 {
            match icmp::parse_v6(data) {
                Some(m) => (hop_limit.unwrap_or(0), m),
                None => return Ok(None),
            }
        } else {
            match icmp::parse_v4(data) {
                Some(parsed) => parsed,
                None => return Ok(None),
            }
        };
        let ours = match &message {
            Message::EchoReply { ident, .. } => *ident == self.ident,
            Message::Error {
                ident, quoted_dst, ..
            } => *ident == self.ident && *quoted_dst == self.dst,
        };
        Ok(ours.then_some(Received {
            from,
            ttl,
            message,
            at,
        }))
    }

    /// After a local EMSGSIZE: the MTU the kernel put on the error queue.
    fn local_mtu_error(&mut self) -> io::Result<Option<u32>> {
        let mut mtu = None;
        for err in self.drain_error_queue()? {
            if err.ee_origin == libc::SO_EE_ORIGIN_LOCAL && err.ee_errno == libc::EMSGSIZE as u32 {
                mtu = Some(err.ee_info);
            }
        }
        Ok(mtu)
    }

    /// Empties the error queue and clears any pending socket error.
    fn clear_errors(&mut self) -> io::Result<()> {
        self.drain_error_queue()?;
        let _ = nix::sys::socket::getsockopt(&self.fd, sockopt::SocketError)?;
        Ok(())
    }

    fn drain_error_queue(&mut self) -> io::Result<Vec<libc::sock_extended_err>> {
        let mut errors = Vec::new();
        loop {
            let mut cmsg = nix::cmsg_space!(libc::sock_extended_err, libc::sockaddr_in6);
            let mut iov = [IoSliceMut::new(&mut self.buf)];
            let msg = match recvmsg::<SockaddrStorage>(
                self.fd.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg),
                MsgFlags::MSG_ERRQUEUE | MsgFlags::MSG_DONTWAIT,
            ) {
                Ok(msg) => msg,
                Err(Errno::EAGAIN) => return Ok(errors),
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            };
            if let Ok(cmsgs) = msg.cmsgs() {
                for c in cmsgs {
                    match c {
                        ControlMessageOwned::Ipv4RecvErr(err, _)
                        | ControlMessageOwned::Ipv6RecvErr(err, _) => errors.push(err),
                        _ => {}
                    }
                }
            }
        }
    }
}

/// Errors an ICMP message can leave pending on a raw socket, which a read then reports in
/// place of data (the message itself is still delivered as a packet).
fn is_icmp_errno(e: Errno) -> bool {
    matches!(
        e,
        Errno::EMSGSIZE
            | Errno::ENETUNREACH
            | Errno::EHOSTUNREACH
            | Errno::ECONNREFUSED
            | Errno::ENOPROTOOPT
            | Errno::EACCES
            | Errno::EPROTO
            | Errno::EHOSTDOWN
            | Errno::ENONET
            | Errno::ETIMEDOUT
    )
}

fn sockaddr(ip: IpAddr) -> SockaddrStorage {
    match ip {
        IpAddr::V4(v4) => SocketAddrV4::new(v4, 0).into(),
        IpAddr::V6(v6) => SocketAddrV6::new(v6, 0, 0, 0).into(),
    }
}

fn ip_of(addr: &SockaddrStorage) -> Option<IpAddr> {
    if let Some(v4) = addr.as_sockaddr_in() {
        return Some(IpAddr::V4(v4.ip()));
    }
    addr.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip()))
}

/// Sets an integer socket option that nix has no wrapper for.
fn set_int(
    fd: &OwnedFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: the pointer and length describe a live c_int for the duration of the call.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_distinct_within_the_process() {
        let ids: std::collections::HashSet<u16> = (0..1000).map(|_| next_ident()).collect();
        assert_eq!(ids.len(), 1000);
    }
}

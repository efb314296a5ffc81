//! Small real topologies for the probe tests, built with rtnetlink inside fresh namespaces.
//!
//! The chain is `h1 - r - h2`: two veth links, r forwarding between them, hosts with
//! default routes through r, IPv4 and IPv6 on every link. Everything lives in namespaces
//! held by the returned [`Chain`], so it all disappears when the chain is dropped.

use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use netlink_packet_route::address::AddressHeaderFlags;
use netlink_packet_route::link::{LinkAttribute, State};
use rtnetlink::{Handle, LinkUnspec, LinkVeth, RouteMessageBuilder};

use crate::net::Netns;
use crate::net::netlink::connect;

pub(crate) const H1_V4: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 2);
pub(crate) const R_H1_V4: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 1);
pub(crate) const R_H2_V4: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 1);
pub(crate) const H2_V4: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);
pub(crate) const H1_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 1, 0, 0, 0, 0, 0, 2);
pub(crate) const R_H1_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 1, 0, 0, 0, 0, 0, 1);
pub(crate) const R_H2_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 2, 0, 0, 0, 0, 0, 1);
pub(crate) const H2_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 2, 0, 0, 0, 0, 0, 2);

/// Addresses that no namespace of the chain has a route to.
pub(crate) const UNROUTED_V4: Ipv4Addr = Ipv4Addr::new(10, 9, 9, 9);
pub(crate) const UNROUTED_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 9, 0, 0, 0, 0, 0, 9);

/// `h1 - r - h2`.
pub(crate) struct Chain {
    pub h1: Netns,
    pub r: Netns,
    pub h2: Netns,
}

/// Builds the chain; the r - h2 link has MTU `r_h2_mtu` at both ends, h1 - r has 1500.
///
/// r has routes only to the two connected subnets: anything else is unrouted there.
pub(crate) async fn chain(r_h2_mtu: u32) -> io::Result<Chain> {
    let h1 = Netns::create("h1")?;
    let r = Netns::create("r")?;
    let h2 = Netns::create("h2")?;
    // Interfaces created from now on skip IPv6 duplicate address detection, so their
    // link-local addresses, which neighbour discovery sends from, are usable at once.
    for ns in [&h1, &r, &h2] {
        sysctl(ns, "/proc/sys/net/ipv6/conf/default/accept_dad", "0")?;
    }
    let (nh1, nr, nh2) = (connect(&h1)?, connect(&r)?, connect(&h2)?);
    for handle in [&nh1, &nr, &nh2] {
        set_up(handle, "lo", None).await?;
    }
    veth((&h1, &nh1, "eth0"), (&r, &nr, "to-h1"), 1500).await?;
    veth((&r, &nr, "to-h2"), (&h2, &nh2, "eth0"), r_h2_mtu).await?;

    address(&nh1, "eth0", H1_V4.into(), 24).await?;
    address(&nh1, "eth0", H1_V6.into(), 64).await?;
    address(&nr, "to-h1", R_H1_V4.into(), 24).await?;
    address(&nr, "to-h1", R_H1_V6.into(), 64).await?;
    address(&nr, "to-h2", R_H2_V4.into(), 24).await?;
    address(&nr, "to-h2", R_H2_V6.into(), 64).await?;
    address(&nh2, "eth0", H2_V4.into(), 24).await?;
    address(&nh2, "eth0", H2_V6.into(), 64).await?;

    default_routes(&nh1, R_H1_V4, R_H1_V6).await?;
    default_routes(&nh2, R_H2_V4, R_H2_V6).await?;
    sysctl(&r, "/proc/sys/net/ipv4/ip_forward", "1")?;
    sysctl(&r, "/proc/sys/net/ipv6/conf/all/forwarding", "1")?;

    let deadline = Instant::now() + READY_TIMEOUT;
    wait_ready(&h1, &nh1, "eth0", H1_V6, deadline).await?;
    wait_ready(&r, &nr, "to-h1", R_H1_V6, deadline).await?;
    wait_ready(&r, &nr, "to-h2", R_H2_V6, deadline).await?;
    wait_ready(&h2, &nh2, "eth0", H2_V6, deadline).await?;
    Ok(Chain { h1, r, h2 })
}

/// How long links get to become usable.
const READY_TIMEOUT: Duration = Duration::from_secs(5);

/// Waits until `name` in `ns` can carry traffic: the kernel has marked it operationally up
/// (which happens asynchronously, batched across all namespaces, up to a second after the
/// carrier comes up; until then it drops what is sent through it), and it has joined the
/// solicited-node group of `v6` (until then it ignores neighbour solicitations for `v6`).
async fn wait_ready(
    ns: &Netns,
    handle: &Handle,
    name: &str,
    v6: Ipv6Addr,
    deadline: Instant,
) -> io::Result<()> {
    let group = solicited_node_hex(v6);
    loop {
        let up = operstate(handle, name).await? == State::Up;
        let joined = ns
            .run(|| std::fs::read_to_string("/proc/thread-self/net/igmp6"))??
            .lines()
            .any(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                fields.get(1) == Some(&name) && fields.get(2) == Some(&group.as_str())
            });
        if up && joined {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "{name} in {} not ready after {READY_TIMEOUT:?} (operationally up: {up}, \
                     in solicited-node group of {v6}: {joined})",
                    ns.label()
                ),
            ));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The solicited-node multicast group of `addr` (ff02::1:ffXX:XXXX), as 32 hex digits the
/// way `/proc/net/igmp6` lists groups.
fn solicited_node_hex(addr: Ipv6Addr) -> String {
    let o = addr.octets();
    format!(
        "ff0200000000000000000001ff{:02x}{:02x}{:02x}",
        o[13], o[14], o[15]
    )
}

async fn operstate(handle: &Handle, name: &str) -> io::Result<State> {
    let link = handle
        .link()
        .get()
        .match_name(name.to_string())
        .execute()
        .try_next()
        .await
        .map_err(|e| netlink_error(&format!("looking up {name}"), e))?
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no link {name}")))?;
    Ok(link
        .attributes
        .iter()
        .find_map(|attr| match attr {
            LinkAttribute::OperState(state) => Some(*state),
            _ => None,
        })
        .unwrap_or(State::Unknown))
}

fn netlink_error(what: &str, e: rtnetlink::Error) -> io::Error {
    io::Error::other(format!("{what}: {e}"))
}

async fn index(handle: &Handle, name: &str) -> io::Result<u32> {
    let link = handle
        .link()
        .get()
        .match_name(name.to_string())
        .execute()
        .try_next()
        .await
        .map_err(|e| netlink_error(&format!("looking up {name}"), e))?
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no link {name}")))?;
    Ok(link.header.index)
}

/// Sets a link up, and its MTU if given.
async fn set_up(handle: &Handle, name: &str, mtu: Option<u32>) -> io::Result<()> {
    let mut link = LinkUnspec::new_with_index(index(handle, name).await?).up();
    if let Some(mtu) = mtu {
        link = link.mtu(mtu);
    }
    handle
        .link()
        .set(link.build())
        .execute()
        .await
        .map_err(|e| netlink_error(&format!("setting {name} up"), e))
}

/// A veth pair made in `a`'s namespace, its peer moved into `b`'s, both up with `mtu`.
async fn veth(
    (_, ha, a_name): (&Netns, &Handle, &str),
    (b, hb, b_name): (&Netns, &Handle, &str),
    mtu: u32,
) -> io::Result<()> {
    ha.link()
        .add(LinkVeth::new(a_name, b_name).build())
        .execute()
        .await
        .map_err(|e| netlink_error(&format!("adding veth {a_name}"), e))?;
    let peer = index(ha, b_name).await?;
    ha.link()
        .set(
            LinkUnspec::new_with_index(peer)
                .setns_by_fd(b.as_raw_fd())
                .build(),
        )
        .execute()
        .await
        .map_err(|e| netlink_error(&format!("moving {b_name} to {}", b.label()), e))?;
    set_up(ha, a_name, Some(mtu)).await?;
    set_up(hb, b_name, Some(mtu)).await
}

/// Adds an address; IPv6 ones skip duplicate address detection so they work at once.
async fn address(handle: &Handle, name: &str, addr: IpAddr, prefix: u8) -> io::Result<()> {
    let mut request = handle
        .address()
        .add(index(handle, name).await?, addr, prefix);
    request.message_mut().header.flags |= AddressHeaderFlags::Nodad;
    request
        .execute()
        .await
        .map_err(|e| netlink_error(&format!("adding {addr}/{prefix} to {name}"), e))
}

async fn default_routes(handle: &Handle, v4: Ipv4Addr, v6: Ipv6Addr) -> io::Result<()> {
    let route4 = RouteMessageBuilder::<Ipv4Addr>::new()
        .destination_prefix(Ipv4Addr::UNSPECIFIED, 0)
        .gateway(v4)
        .build();
    handle
        .route()
        .add(route4)
        .execute()
        .await
        .map_err(|e| netlink_error("adding IPv4 default route", e))?;
    let route6 = RouteMessageBuilder::<Ipv6Addr>::new()
        .destination_prefix(Ipv6Addr::UNSPECIFIED, 0)
        .gateway(v6)
        .build();
    handle
        .route()
        .add(route6)
        .execute()
        .await
        .map_err(|e| netlink_error("adding IPv6 default route", e))
}

/// Writes a sysctl of `ns` (its own `/proc/sys/net`, as seen from inside).
pub(crate) fn sysctl(ns: &Netns, path: &str, value: &str) -> io::Result<()> {
    ns.run(|| std::fs::write(path, value))?
}

/// Runs `nft -f -` inside `ns` with `script` on its standard input.
pub(crate) fn nft(ns: &Netns, script: &str) -> io::Result<()> {
    let fd = ns.as_raw_fd();
    let mut command = Command::new("nft");
    command
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: enter_in_child only makes the setns syscall, which is async-signal-safe.
    unsafe {
        command.pre_exec(move || Netns::enter_in_child(fd));
    }
    let mut child = command
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("running nft: {e}")))?;
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(script.as_bytes())?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "nft failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solicited_node_groups_are_spelled_as_igmp6_lists_them() {
        assert_eq!(
            solicited_node_hex(R_H1_V6),
            "ff0200000000000000000001ff000001"
        );
        assert_eq!(
            solicited_node_hex("fe80::4a0:d1ff:fe1d:13f8".parse().unwrap()),
            "ff0200000000000000000001ff1d13f8"
        );
    }
}

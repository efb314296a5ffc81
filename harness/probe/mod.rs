//! Probes that send real packets inside a lab: ping, traceroute, path MTU, fragmentation counters.

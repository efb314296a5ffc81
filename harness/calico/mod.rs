//! Mock calico-node: Calico resources in, the BIRD configuration confd would render out.

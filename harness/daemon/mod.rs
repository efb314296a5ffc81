//! BIRD daemons: supervision inside a namespace and the control-socket client.

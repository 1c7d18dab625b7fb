"""Pure domain code: the seed's rules, command grammar, policy and the request state machine."""

"""Several instances on one database: leader election, the leader's duties, the
instance registry and the Redis mirror."""

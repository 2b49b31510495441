// Package redisstore is the store engine on Redis (6.2 or later), for
// deployments where several function instances share state.
//
// Every conditional operation is one atomic command or Lua script, and
// scripts read the Redis server's clock (TIME), never the caller's, so
// instances with skewed clocks agree on expiry and due times. Expiry of
// claims, leases and records is Redis key expiry (PX / PEXPIRE).
//
// Key layout, after the store's prefix:
//
//	claim:<key>                  string, SET NX PX
//	lease:<name>                 string holding the owner, PX = lease TTL
//	rec:<key>                    hash {v: value, ver: version}, PEXPIRE = TTL
//	ob:{<topic>}:q               sorted set id → visible-at (ms since epoch)
//	ob:{<topic>}:dead            sorted set id → buried-at (ms)
//	ob:{<topic>}:i:<id>          hash {topic, id, payload, due, attempts, err, created}
//	ctr:{<series>}:<YYYY-MM-DD>  hash member → count
//
// The braces are Redis Cluster hash tags: all keys of one outbox topic (and
// of one counter series) live in the same slot, so scripts touching them
// work on a cluster too.
package redisstore

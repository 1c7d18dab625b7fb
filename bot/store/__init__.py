"""Everything kept in Redis: key names, the request store, the durable scheduler, the audit stream."""

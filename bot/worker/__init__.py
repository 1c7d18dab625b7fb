"""The worker process: advances requests through their lifecycle and polls backups in flight."""

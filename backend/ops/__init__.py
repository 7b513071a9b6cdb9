"""Operations: the job worker, backup and restore (composition layer: may use every domain)."""

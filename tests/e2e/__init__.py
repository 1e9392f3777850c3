"""End-to-end suite (a package so that its stack fixture ends with its last test)."""

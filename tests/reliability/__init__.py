"""The reliability and security proof suite (issue 8); see docs/reliability.md."""

"""The expected-verdict matrix: every design variant x workload against its expectations."""

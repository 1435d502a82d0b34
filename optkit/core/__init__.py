"""The core contracts: spaces, problems, the optimizer base, results, the registry, the journal."""

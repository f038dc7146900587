"""The launch kit: trends, script variants, thumbnail variants and the A/B test that picks one."""

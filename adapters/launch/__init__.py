"""The launch kit's A/B test as plain data: the thumbnail styles it tests, the test itself, its
statistics and the seeded simulator that stands in for a real observation provider."""

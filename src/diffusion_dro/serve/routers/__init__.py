"""One router per resource: generation, the page and its session, the page's events and images."""

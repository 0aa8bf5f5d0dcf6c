"""From exchanges to stored spans: capture (parse a copy), queue, batch writer."""

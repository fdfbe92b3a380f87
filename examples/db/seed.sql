-- Sample rows for the web page. Plain INSERTs: if this file ran twice, the
-- page would show every row twice.
INSERT INTO items (name, note) VALUES
    ('postgres', 'seeded from examples/db/seed.sql'),
    ('redis', 'counts the visits to this page'),
    ('rq worker', 'runs the jobs the button enqueues'),
    ('tornado', 'relays the workers'' status messages over a WebSocket'),
    ('caddy', 'the reverse proxy in front of them all');

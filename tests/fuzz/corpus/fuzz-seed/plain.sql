CREATE TABLE IF NOT EXISTS items (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO items VALUES (1, 'one'), (2, 'two; with a semicolon');
INSERT INTO notes VALUES ($$dollar ; quoted$$), ('it''s; fine');
/* a comment; /* nested; */ still a comment */
SELECT E'escaped \' quote;', "quoted;ident" FROM x; -- trailing; comment
CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;

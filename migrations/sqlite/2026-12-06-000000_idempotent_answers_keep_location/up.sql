-- A 201 answer's Location header, replayed with the answer.
ALTER TABLE idempotency_keys ADD COLUMN response_location TEXT;

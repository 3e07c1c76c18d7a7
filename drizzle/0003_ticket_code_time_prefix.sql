-- New check-in codes start with their issue time (microseconds, 14 hex digits) and keep 122 random bits, so
-- they are appended at the right end of tickets_code_key instead of dirtying a random page of it per ticket.
-- Existing codes are untouched and stay valid.
ALTER TABLE "tickets" ALTER COLUMN "code" SET DEFAULT lpad(to_hex((extract(epoch from clock_timestamp()) * 1000000)::bigint), 14, '0') || rtrim(translate(encode(uuid_send(gen_random_uuid()), 'base64'), '+/', '-_'), '=');
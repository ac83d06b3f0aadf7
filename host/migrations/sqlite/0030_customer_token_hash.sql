-- Customer links are credentials: like tenant API keys and member tokens,
-- only their SHA-256 (lower-case hex) is kept from now on, and the column
-- is renamed to say so. Its unique index follows the rename.
--
-- Links made before this keep working, but their plain tokens cannot be
-- hashed here: SQLite has no SHA-256 function. `Store::connect` hashes
-- every value still in the plain form (`ct_` and hex; a hash has no `ct_`)
-- right after the migrations run, before the server answers any request.
ALTER TABLE conversations RENAME COLUMN customer_token TO customer_token_hash;

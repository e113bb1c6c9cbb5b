-- The server of record: the shared verse catalogue, each user's cards, reviews, aliases and
-- profile, and the idempotency ledger. Row level security and the RPC come in later files.

create schema if not exists private;
revoke all on schema private from public;

-- The shared verse catalogue: one row per reference and translation. Users read it; only
-- security-definer functions in private write it. ESV-managed rows carry text_status:
-- 'ready' (ESV text stored), 'pending' (the ESV was out of reach), 'evicted' (dropped by the
-- storage cap); null means the row is not ESV-managed.
create table public.verses (
  id uuid primary key default gen_random_uuid(),
  reference text not null check (length(btrim(reference)) between 1 and 200),
  translation text not null default 'ESV' check (length(translation) between 1 and 20),
  text text,
  text_status text check (text_status in ('ready', 'pending', 'evicted')),
  text_used_at timestamptz,
  created_at timestamptz not null default now(),
  unique (reference, translation)
);
create index verses_esv_lru_idx on public.verses (text_used_at) where text_status = 'ready';
create index verses_pending_idx on public.verses (id) where text_status = 'pending';

create table public.verse_cards (
  id uuid primary key,
  user_id uuid not null default auth.uid(),
  verse_id uuid not null references public.verses (id),
  custom_text text check (length(custom_text) <= 10000),
  review_count integer not null default 0,
  correct_count integer not null default 0,
  last_reviewed_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);
create index verse_cards_user_id_idx on public.verse_cards (user_id);
create index verse_cards_verse_id_idx on public.verse_cards (verse_id);

create table public.review_logs (
  id uuid primary key,
  user_id uuid not null default auth.uid(),
  verse_card_id uuid not null references public.verse_cards (id),
  correct boolean not null,
  review_date timestamptz not null,
  created_at timestamptz not null default now()
);
create index review_logs_user_id_idx on public.review_logs (user_id);
create index review_logs_verse_card_id_idx on public.review_logs (verse_card_id);

create table public.verse_aliases (
  id uuid primary key,
  user_id uuid not null default auth.uid(),
  verse_card_id uuid not null references public.verse_cards (id),
  alias text not null check (length(btrim(alias)) between 1 and 200),
  created_at timestamptz not null default now()
);
create index verse_aliases_user_id_idx on public.verse_aliases (user_id);
create index verse_aliases_verse_card_id_idx on public.verse_aliases (verse_card_id);

create table public.profiles (
  user_id uuid primary key default auth.uid(),
  display_name text check (length(display_name) <= 100),
  translation text check (length(translation) between 1 and 20),
  daily_goal integer check (daily_goal between 1 and 1000),
  updated_at timestamptz not null,
  created_at timestamptz not null default now()
);

-- The idempotency ledger: one row per applied operation, written in the same transaction as
-- the operation, so a resend finds it and changes nothing. op_id is the canonical (lowercase)
-- UUID; digest is md5 of the op's type and payload, so the same id with another payload is
-- refused (OPERATION_ID_CONFLICT). n orders a user's rows for pruning: the ledger keeps each
-- user's newest rows (private.sync_settings.ledger_rows_per_user) and drops older ones.
create table public.sync_ledger (
  op_id uuid primary key,
  user_id uuid not null default auth.uid(),
  batch_id uuid not null,
  type text not null,
  digest uuid not null,
  result jsonb not null,
  n bigint generated always as identity,
  applied_at timestamptz not null default now()
);
create index sync_ledger_user_n_idx on public.sync_ledger (user_id, n);

-- Server-side knobs of the sync RPC (one row).
create table private.sync_settings (
  id boolean primary key default true check (id),
  -- Ledger rows kept per user; older ones are pruned once a user holds a tenth more. At least
  -- one full batch (1,000 ops), so the resend of a user's latest batch always finds its answers.
  ledger_rows_per_user integer not null default 1000 check (ledger_rows_per_user >= 1000)
);
insert into private.sync_settings default values;

-- The number of ledger rows each user holds, so pruning costs nothing until it is due, and
-- the newest n pruned so far: the user's rows at or below it are gone, so a prune reads only
-- what it deletes, not the dead rows earlier prunes left in the index until vacuum.
create table private.ledger_users (
  user_id uuid primary key,
  ledger_rows integer not null default 0,
  pruned_through bigint not null default 0
);

-- A reference as typed (its key, lower-cased) → the catalogue verse it names, so 'jn3.16',
-- 'John 3:16' and 'john 3 16' share one verses row.
create table private.esv_references (
  key text primary key,
  verse_id uuid not null references public.verses (id) on delete cascade
);
create index esv_references_verse_id_idx on private.esv_references (verse_id);

-- The ESV's conditions (60/min, 1,000/h, 5,000/day, 500 texts kept) and how they are shared.
create table private.esv_settings (
  id boolean primary key default true check (id),
  per_minute integer not null default 60 check (per_minute > 0),
  per_hour integer not null default 1000 check (per_hour > 0),
  per_day integer not null default 5000 check (per_day > 0),
  storage_cap integer not null default 500 check (storage_cap >= 0),
  -- The part of each window one user may spend, so one user cannot spend everyone's budget.
  user_share numeric not null default 0.25 check (user_share > 0 and user_share <= 1),
  -- Set when the ESV answered 429: no instance asks again before this.
  blocked_until timestamptz
);
insert into private.esv_settings default values;

-- One row per ESV query of every function instance, with the user it was spent for: the
-- shared sliding-window limiter.
create table private.esv_calls (
  id bigserial primary key,
  at timestamptz not null,
  user_id uuid
);
create index esv_calls_at_idx on private.esv_calls (at);
create index esv_calls_user_at_idx on private.esv_calls (user_id, at);

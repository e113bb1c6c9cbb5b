-- verses-sync: the server of record.
-- Tables, row level security and grants. The batch RPC is in the next migration.

create schema if not exists private;
revoke all on schema private from public;

-- The shared verse catalogue: one row per reference and translation.
-- Users read it; only the security-definer private.ensure_verse writes it.
create table public.verses (
  id uuid primary key default gen_random_uuid(),
  reference text not null check (length(btrim(reference)) between 1 and 200),
  translation text not null default 'ESV' check (length(translation) between 1 and 20),
  text text,
  created_at timestamptz not null default now(),
  unique (reference, translation)
);

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

-- The idempotency ledger: one row per applied operation, written in the same
-- transaction as the operation itself, so a replay finds it and changes nothing.
create table public.sync_ledger (
  op_id uuid primary key,
  user_id uuid not null default auth.uid(),
  batch_id uuid not null,
  type text not null,
  result jsonb not null,
  applied_at timestamptz not null default now()
);
create index sync_ledger_user_applied_idx on public.sync_ledger (user_id, applied_at);

-- Row level security: every user table is private to its owner.
alter table public.verses enable row level security;
alter table public.verse_cards enable row level security;
alter table public.review_logs enable row level security;
alter table public.verse_aliases enable row level security;
alter table public.profiles enable row level security;
alter table public.sync_ledger enable row level security;

create policy "catalogue is readable by signed-in users" on public.verses
  for select to authenticated using (true);

create policy "owner reads cards" on public.verse_cards
  for select to authenticated using (user_id = auth.uid());
create policy "owner inserts cards" on public.verse_cards
  for insert to authenticated with check (user_id = auth.uid());
create policy "owner updates cards" on public.verse_cards
  for update to authenticated using (user_id = auth.uid()) with check (user_id = auth.uid());

create policy "owner reads reviews" on public.review_logs
  for select to authenticated using (user_id = auth.uid());
-- A review or alias may only point at the writer's own card.
create policy "owner inserts reviews" on public.review_logs
  for insert to authenticated with check (
    user_id = auth.uid()
    and exists (select 1 from public.verse_cards c where c.id = verse_card_id and c.user_id = auth.uid()));

create policy "owner reads aliases" on public.verse_aliases
  for select to authenticated using (user_id = auth.uid());
create policy "owner inserts aliases" on public.verse_aliases
  for insert to authenticated with check (
    user_id = auth.uid()
    and exists (select 1 from public.verse_cards c where c.id = verse_card_id and c.user_id = auth.uid()));

create policy "owner reads profile" on public.profiles
  for select to authenticated using (user_id = auth.uid());
create policy "owner inserts profile" on public.profiles
  for insert to authenticated with check (user_id = auth.uid());
create policy "owner updates profile" on public.profiles
  for update to authenticated using (user_id = auth.uid()) with check (user_id = auth.uid());

create policy "owner reads ledger" on public.sync_ledger
  for select to authenticated using (user_id = auth.uid());
create policy "owner inserts ledger" on public.sync_ledger
  for insert to authenticated with check (user_id = auth.uid());

-- Supabase grants everything in public to anon and authenticated by default;
-- take it back and grant exactly what the app needs. anon gets nothing.
revoke all on public.verses, public.verse_cards, public.review_logs, public.verse_aliases,
  public.profiles, public.sync_ledger from anon, authenticated;
grant select on public.verses to authenticated;
grant select, insert, update on public.verse_cards to authenticated;
grant select, insert on public.review_logs to authenticated;
grant select, insert on public.verse_aliases to authenticated;
grant select, insert, update on public.profiles to authenticated;
grant select, insert on public.sync_ledger to authenticated;

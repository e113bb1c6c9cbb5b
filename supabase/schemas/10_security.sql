-- Row level security and grants: every user table is private to its owner; the catalogue is
-- readable by signed-in users. Policies read auth.uid() through a sub-select, so it is
-- evaluated once per statement (an init plan), not once per row, as Supabase recommends.

alter table public.verses enable row level security;
alter table public.verse_cards enable row level security;
alter table public.review_logs enable row level security;
alter table public.verse_aliases enable row level security;
alter table public.profiles enable row level security;
alter table public.sync_ledger enable row level security;

create policy "catalogue is readable by signed-in users" on public.verses
  for select to authenticated using (true);

create policy "owner reads cards" on public.verse_cards
  for select to authenticated using (user_id = (select auth.uid()));
create policy "owner inserts cards" on public.verse_cards
  for insert to authenticated with check (user_id = (select auth.uid()));
create policy "owner updates cards" on public.verse_cards
  for update to authenticated using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));

create policy "owner reads reviews" on public.review_logs
  for select to authenticated using (user_id = (select auth.uid()));
-- A review or alias may only point at the writer's own card.
create policy "owner inserts reviews" on public.review_logs
  for insert to authenticated with check (
    user_id = (select auth.uid())
    and exists (select 1 from public.verse_cards c where c.id = verse_card_id and c.user_id = (select auth.uid())));

create policy "owner reads aliases" on public.verse_aliases
  for select to authenticated using (user_id = (select auth.uid()));
create policy "owner inserts aliases" on public.verse_aliases
  for insert to authenticated with check (
    user_id = (select auth.uid())
    and exists (select 1 from public.verse_cards c where c.id = verse_card_id and c.user_id = (select auth.uid())));

create policy "owner reads profile" on public.profiles
  for select to authenticated using (user_id = (select auth.uid()));
create policy "owner inserts profile" on public.profiles
  for insert to authenticated with check (user_id = (select auth.uid()));
create policy "owner updates profile" on public.profiles
  for update to authenticated using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));

create policy "owner reads ledger" on public.sync_ledger
  for select to authenticated using (user_id = (select auth.uid()));
create policy "owner inserts ledger" on public.sync_ledger
  for insert to authenticated with check (user_id = (select auth.uid()));

-- Supabase grants everything in public to anon and authenticated by default; take it back and
-- grant exactly what the app needs. anon gets nothing; private tables belong to the owner.
revoke all on public.verses, public.verse_cards, public.review_logs, public.verse_aliases,
  public.profiles, public.sync_ledger from anon, authenticated;
grant select on public.verses to authenticated;
grant select, insert, update on public.verse_cards to authenticated;
grant select, insert on public.review_logs to authenticated;
grant select, insert on public.verse_aliases to authenticated;
grant select, insert, update on public.profiles to authenticated;
grant select, insert on public.sync_ledger to authenticated;
revoke all on table private.sync_settings, private.ledger_users, private.esv_references,
  private.esv_settings, private.esv_calls from public, anon, authenticated;
grant usage on schema private to authenticated;

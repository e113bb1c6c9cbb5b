-- A few catalogue entries so a fresh local project has something to show.
insert into public.verses (reference, translation, text) values
  ('John 3:16', 'ESV', null),
  ('Psalm 23:1', 'ESV', null),
  ('Romans 8:28', 'ESV', null)
on conflict (reference, translation) do nothing;

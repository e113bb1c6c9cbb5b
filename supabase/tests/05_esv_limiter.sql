-- The ESV budget every function instance shares: a sliding window of 60 queries a minute,
-- 1,000 an hour and 5,000 a day, a pause after the ESV's own 429, and no way in for users.
begin;
select plan(22);

delete from private.esv_calls;
update private.esv_settings set per_minute = 60, per_hour = 1000, per_day = 5000, blocked_until = null;

-- 60 queries inside one minute are granted, the 61st is not.
select is(
  (select count(*)::int from generate_series(0, 59) i
    where (private.esv_take_token('2026-03-01 10:00:00+00'::timestamptz + i * interval '500 ms') ->> 'granted')::boolean),
  60, 'the first 60 queries of a minute are granted');
select is(private.esv_take_token('2026-03-01 10:00:40+00') ->> 'granted', 'false', 'the 61st inside the same minute is refused');
select is(private.esv_take_token('2026-03-01 10:00:40+00') ->> 'reason', 'budget', 'refused for the budget');
select is((private.esv_take_token('2026-03-01 10:00:40+00') ->> 'retryAfterSeconds')::int, 20,
  'it says when the oldest query leaves the window (10:01:00)');
select is((select count(*)::int from private.esv_calls), 60, 'refusals spend nothing');
-- Sliding, not calendar minutes: at 10:01:00.2 one query left the window, so one more is granted.
select is(private.esv_take_token('2026-03-01 10:01:00.2+00') ->> 'granted', 'true', 'a query leaving the window frees one place');
select is(private.esv_take_token('2026-03-01 10:01:00.3+00') ->> 'granted', 'false', 'and only one');

-- The hour: 1,000 queries spread over 50 minutes (20 a minute) fill it.
delete from private.esv_calls;
insert into private.esv_calls (at) select '2026-03-01 11:00:00+00'::timestamptz + i * interval '3 s' from generate_series(0, 999) i;
select is(private.esv_take_token('2026-03-01 11:55:00+00') ->> 'granted', 'false', 'the 1,001st query of an hour is refused');
select is((private.esv_take_token('2026-03-01 11:55:00+00') ->> 'retryAfterSeconds')::int, 300,
  'until the hour’s oldest query leaves it (12:00:00)');
select is(private.esv_take_token('2026-03-01 12:00:01+00') ->> 'granted', 'true', 'granted once it left');

-- The day: 5,000 queries over 20 hours fill it.
delete from private.esv_calls;
insert into private.esv_calls (at) select '2026-03-02 00:00:00+00'::timestamptz + i * interval '14.4 s' from generate_series(0, 4999) i;
select is(private.esv_take_token('2026-03-02 21:00:00+00') ->> 'granted', 'false', 'the 5,001st query of a day is refused');
select is(private.esv_take_token('2026-03-03 00:00:01+00') ->> 'granted', 'true', 'granted a day after the oldest');
select ok((select min(at) from private.esv_calls) > '2026-03-02 00:00:00+00', 'calls older than a day are pruned');

-- The ESV's own 429 stops every instance for its Retry-After.
delete from private.esv_calls;
select private.esv_throttled(30, '2026-03-04 09:00:00+00');
select is(private.esv_take_token('2026-03-04 09:00:10+00') ->> 'reason', 'throttled', 'after a 429 no instance asks the ESV');
select is(private.esv_take_token('2026-03-04 09:00:31+00') ->> 'granted', 'true', 'after the Retry-After it may again');

-- Two users, one floods: the flooder gets a quarter of each window (user_share 0.25: 15 of
-- the minute's 60), the other user's verse is still asked for right after.
delete from private.esv_calls;
update private.esv_settings set blocked_until = null;
select is(
  (select count(*)::int from generate_series(0, 99) i
    where (private.esv_take_token('2026-03-05 10:00:00+00'::timestamptz + i * interval '100 ms',
                                  'aaaaaaaa-0000-4000-8000-000000000001') ->> 'granted')::boolean),
  15, 'a user flooding the ESV is granted their share of the minute (15 of 60)');
select is(private.esv_take_token('2026-03-05 10:00:20+00', 'aaaaaaaa-0000-4000-8000-000000000001') ->> 'reason', 'share',
  'past it the flooder is refused for their share');
select is((private.esv_take_token('2026-03-05 10:00:20+00', 'aaaaaaaa-0000-4000-8000-000000000001') ->> 'retryAfterSeconds')::int, 40,
  'until their oldest query leaves the minute (10:01:00)');
select is(private.esv_take_token('2026-03-05 10:00:20+00', 'bbbbbbbb-0000-4000-8000-000000000002') ->> 'granted', 'true',
  'the other user is still granted a query right after');
select is((select count(*)::int from private.esv_calls where user_id = 'aaaaaaaa-0000-4000-8000-000000000001'), 15,
  'refusals spend nothing of the shared budget');
update private.esv_settings set user_share = 1;
select is(private.esv_take_token('2026-03-05 10:00:21+00', 'aaaaaaaa-0000-4000-8000-000000000001') ->> 'granted', 'true',
  'the share is a setting: at 1 a user may spend the whole window');
update private.esv_settings set user_share = 0.25;

-- Users cannot spend or reset the budget.
set local role authenticated;
set local request.jwt.claims to '{"sub":"11111111-1111-4111-8111-111111111111","role":"authenticated"}';
select throws_ok($$ select private.esv_take_token() $$, '42501', null, 'authenticated may not take ESV tokens');

select * from finish();
rollback;

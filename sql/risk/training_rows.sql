-- The roll-forward model's training rows (docs/models.md): for each sampled night D of the
-- committed history, the features of D's aged loans as sql/intermediate/int_loans__risk_features.sql
-- computes them at night D, and the labels (arrears train --label) at the first committed night
-- 30 to 45 days after D, a loan written off by then counting for both: rolled_forward, its bucket
-- worse (the default); past_due_next, past due (dpd > 0). Reads the marts from $history_from (a year
-- before the first sampled night) through $history_to only. A loan is kept when the hash of
-- (loan_id, night) falls below $keep_per_million: a uniform sample, when the book is large.
-- With $unlabelled, nights without a committed night 30-45 days later are kept too (label false:
-- for scoring a night, not for training).
with

nights as (
    select distinct snapshot_date
    from marts.loan_aging
    where snapshot_date between $history_from and $history_to
),

samples as (
    select
        sample_date,
        (select max(snapshot_date) from nights
         where snapshot_date between sample_date - 45 and sample_date - 30) as d30,
        (select max(snapshot_date) from nights
         where snapshot_date between sample_date - 75 and sample_date - 60) as d60,
        (select max(snapshot_date) from nights
         where snapshot_date between sample_date - 105 and sample_date - 90) as d90,
        (select min(snapshot_date) from nights
         where snapshot_date between sample_date + 30 and sample_date + 45) as label_date,
    from (select unnest($sample_dates::date[]) as sample_date)
),

today as (
    select samples.*, aging.*
    from marts.loan_aging as aging
    inner join samples
        on samples.sample_date = aging.snapshot_date
    where aging.is_aged
      and ($unlabelled or samples.label_date is not null)
      and hash(aging.loan_id, aging.snapshot_date) % 1000000 < $keep_per_million
),

before as (
    select
        today.sample_date,
        today.loan_id,
        max(aging.dpd) filter (where aging.snapshot_date = today.d30) as dpd_30d_before,
        max(aging.dpd) filter (where aging.snapshot_date = today.d60) as dpd_60d_before,
        max(aging.dpd) filter (where aging.snapshot_date = today.d90) as dpd_90d_before,
        max(aging.paid_to_date_amount) filter (where aging.snapshot_date = today.d30)
            as paid_to_date_30d_before,
        max(aging.outstanding_principal) filter (where aging.snapshot_date = today.d30)
            as outstanding_30d_before,
        max(aging.paid_to_date_amount) filter (where aging.snapshot_date = today.d90)
            as paid_to_date_90d_before,
        max(aging.outstanding_principal) filter (where aging.snapshot_date = today.d90)
            as outstanding_90d_before,
    from today
    inner join marts.loan_aging as aging
        on aging.loan_id = today.loan_id
        and aging.snapshot_date in (today.d30, today.d60, today.d90)
    where aging.snapshot_date between $history_from and $history_to
    group by all
),

-- months past due, as marts.loan_state carries them: months with a night at dpd > 0
delinquent_months as (
    select distinct loan_id, date_trunc('month', snapshot_date)::date as month
    from marts.loan_aging
    where snapshot_date between $history_from and $history_to
      and dpd > 0
),

months as (
    select today.sample_date, today.loan_id, count(*) as months_delinquent
    from today
    inner join delinquent_months
        on delinquent_months.loan_id = today.loan_id
        and delinquent_months.month
            between (date_trunc('month', today.sample_date) - interval 11 month)::date
            and today.sample_date
    group by all
),

-- promises broken up to the night (within the history read)
broken_arrangements as (
    select loan_id, arrangement_id, min(snapshot_date) as broken_date
    from marts.arrangement_status
    where snapshot_date between $history_from and $history_to
      and status = 'BROKEN'
    group by all
),

broken as (
    select today.sample_date, today.loan_id, count(*) as broken_promises
    from today
    inner join broken_arrangements
        on broken_arrangements.loan_id = today.loan_id
        and broken_arrangements.broken_date <= today.sample_date
    group by all
),

contacts as (
    select
        samples.sample_date,
        history.customer_id,
        count(*) as contacts_30d,
        count(*) filter (where outcome in ('CONNECTED', 'PROMISE', 'REFUSED', 'DISPUTE', 'VISITED'))
            as right_party_30d,
        count(*) filter (where outcome = 'PROMISE') as promises_30d,
        count(*) filter (where outcome in ('NO_ANSWER', 'FAILED', 'NOT_FOUND')) as unreached_30d,
    from marts.contact_history as history
    inner join samples
        on history.snapshot_date > samples.sample_date - 30
        and history.snapshot_date <= samples.sample_date
    where history.snapshot_date between $history_from and $history_to
    group by all
),

later as (
    select
        today.sample_date,
        today.loan_id,
        list_position($bucket_order::varchar[], aging.bucket)
            > list_position($bucket_order::varchar[], today.bucket)
            or (aging.status = 'WRITTEN_OFF' and today.status <> 'WRITTEN_OFF') as is_worse,
        aging.dpd > 0
            or (aging.status = 'WRITTEN_OFF' and today.status <> 'WRITTEN_OFF') as is_past_due,
    from today
    inner join marts.loan_aging as aging
        on aging.loan_id = today.loan_id
        and aging.snapshot_date = today.label_date
    where aging.snapshot_date between $history_from and $history_to
),

final as (
    select
        today.sample_date,
        today.loan_id,
        coalesce(later.is_worse, false) as rolled_forward,
        coalesce(later.is_past_due, false) as past_due_next,
        today.dpd::double as dpd,
        before.dpd_30d_before::double as dpd_30d_before,
        before.dpd_60d_before::double as dpd_60d_before,
        before.dpd_90d_before::double as dpd_90d_before,
        coalesce(months.months_delinquent, 0)::double as months_delinquent,
        coalesce(broken.broken_promises, 0)::double as broken_promises,
        (today.sample_date - today.last_payment_date)::double as days_since_payment,
        today.outstanding_principal::double as outstanding_principal,
        today.overdue_amount::double as overdue_amount,
        today.overdue_installments::double as overdue_installments,
        today.next_due_amount::double as next_due_amount,
        (today.paid_to_date_amount - before.paid_to_date_30d_before)::double as paid_30d,
        (today.outstanding_principal - before.outstanding_30d_before)::double
            as balance_change_30d,
        (today.outstanding_principal - before.outstanding_90d_before)::double
            as balance_change_90d,
        (today.paid_to_date_amount - before.paid_to_date_90d_before)::double as paid_90d,
        -- what the month's payments were against the balance a month before
        ((today.paid_to_date_amount - before.paid_to_date_30d_before)
            / nullif(before.outstanding_30d_before, 0))::double as paid_to_balance_30d,
        today.principal_amount::double as principal_amount,
        (today.outstanding_principal / nullif(today.principal_amount, 0))::double as utilisation,
        coalesce(contacts.contacts_30d, 0)::double as contacts_30d,
        coalesce(contacts.right_party_30d, 0)::double as right_party_30d,
        coalesce(contacts.promises_30d, 0)::double as promises_30d,
        coalesce(contacts.unreached_30d, 0)::double as unreached_30d,
    from today
    left join before
        on before.sample_date = today.sample_date and before.loan_id = today.loan_id
    left join months
        on months.sample_date = today.sample_date and months.loan_id = today.loan_id
    left join broken
        on broken.sample_date = today.sample_date and broken.loan_id = today.loan_id
    left join contacts
        on contacts.sample_date = today.sample_date and contacts.customer_id = today.customer_id
    left join later
        on later.sample_date = today.sample_date and later.loan_id = today.loan_id
)

select * from final
order by sample_date, loan_id

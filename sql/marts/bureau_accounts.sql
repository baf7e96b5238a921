-- config: materialized=table, scope=customer
-- marts.bureau_accounts for $report_month (docs/bureau.md): one row per loan on the book that
-- month, the reporting night $snapshot_date being its last day (or the configured reporting
-- day). The 24-month strings grow from the previous reported month's rows (the state) by one
-- character a month: no earlier month is re-read. Loans that left the book during the month
-- (tonight's marts.loan_state says when they were last seen) are reported closed.
with

months as (
    select
        $report_month::date as month,
        -- months since the previous reported month (1 when no month was skipped)
        coalesce(date_diff('month', $previous_report_month::date, $report_month::date), 1)
            as gap,
),

aging as (
    select * from work.loan_aging
),

loans as (
    select loan_id, origination_date, principal_amount
    from work.stg_loan_terms
),

previous as (
    select * from marts.bureau_accounts
    where report_month = $previous_report_month
),

-- each loan's status at the previous month end, for a loan closed before this month that the
-- lender keeps sending (reported closed once, then no more)
previous_month_end as (
    select loan_id, status
    from marts.loan_aging
    where snapshot_date = $previous_month_end
),

-- the schedule as aging reads it (int_installments__unpaid), with what fell due
installments as (
    select
        *,
        due_date < $snapshot_date and unpaid_amount > $tolerance as is_overdue,
        $snapshot_date::date - due_date as days_overdue,
    from (
        select
            loan_id,
            due_date,
            last_payment_date,
            principal_due + interest_due + fees_due as due_amount,
            principal_paid + interest_paid + fees_paid as paid_amount,
            greatest(principal_due - principal_paid, 0) as unpaid_principal_amount,
            greatest(
                (principal_due + interest_due + fees_due)
                    - (principal_paid + interest_paid + fees_paid),
                0
            ) as unpaid_amount,
        from work.stg_installments
    )
),

-- one pass over the schedule: per loan and last payment day first, so that what was paid on
-- the loan's latest payment day comes out of the same scan
schedule_by_payment_day as (
    select
        loan_id,
        last_payment_date,
        count(*) as periods,
        count(*) filter (where due_date > $snapshot_date) as remaining_periods,
        coalesce(sum(unpaid_principal_amount) filter (
            where is_overdue and days_overdue between 31 and 60), 0) as principal_31_60,
        coalesce(sum(unpaid_principal_amount) filter (
            where is_overdue and days_overdue between 61 and 90), 0) as principal_61_90,
        coalesce(sum(unpaid_principal_amount) filter (
            where is_overdue and days_overdue between 91 and 180), 0) as principal_91_180,
        coalesce(sum(unpaid_principal_amount) filter (
            where is_overdue and days_overdue > 180), 0) as principal_180_plus,
        coalesce(sum(due_amount) filter (
            where due_date between $report_month and $snapshot_date), 0) as due_this_month,
        sum(paid_amount) as paid_amount,
    from installments
    group by loan_id, last_payment_date
),

schedule as (
    select
        loan_id,
        sum(periods) as periods,
        sum(remaining_periods) as remaining_periods,
        sum(principal_31_60) as principal_31_60,
        sum(principal_61_90) as principal_61_90,
        sum(principal_91_180) as principal_91_180,
        sum(principal_180_plus) as principal_180_plus,
        sum(due_this_month) as due_this_month,
        coalesce(sum(paid_amount) filter (
            where last_payment_date between $report_month and $snapshot_date), 0)
            as paid_on_installments_this_month,
        max(last_payment_date) as last_payment_date,
        -- what was paid on the installments whose latest payment was the loan's latest
        -- payment day (arg_max skips the installments never paid)
        arg_max(paid_amount, last_payment_date) as last_payment_amount,
    from schedule_by_payment_day
    group by loan_id
),

on_book as (
    select
        aging.loan_id,
        aging.customer_id,
        aging.product,
        aging.status,
        aging.dpd,
        aging.loan_class,
        aging.oldest_unpaid_due_date,
        aging.overdue_installments,
        aging.overdue_amount,
        aging.overdue_principal_amount,
        aging.outstanding_principal,
        aging.paid_to_date_amount,
        aging.last_payment_date,
        loans.origination_date,
        loans.principal_amount,
        schedule.periods,
        schedule.remaining_periods,
        schedule.principal_31_60,
        schedule.principal_61_90,
        schedule.principal_91_180,
        schedule.principal_180_plus,
        schedule.due_this_month,
        schedule.paid_on_installments_this_month,
        schedule.last_payment_amount,
        null::date as gone_since,
    from aging
    inner join loans
        on loans.loan_id = aging.loan_id
    left join schedule
        on schedule.loan_id = aging.loan_id
    left join previous
        on previous.loan_id = aging.loan_id
    left join previous_month_end
        on previous_month_end.loan_id = aging.loan_id
    -- a CLOSED loan is reported in the month it closed, once
    where aging.status <> 'CLOSED'
       or (previous.loan_id is not null and previous.status_char <> 'C')
       or (previous.loan_id is null and previous_month_end.status is distinct from 'CLOSED')
),

-- loans no longer sent: seen this month, or still open in the previous month's report
gone as (
    select
        state.loan_id,
        state.customer_id,
        state.last_seen_date,
    from work.loan_state as state
    anti join aging
        on aging.loan_id = state.loan_id
    where state.last_seen_date >= $report_month
       or state.loan_id in (select loan_id from previous where status_char <> 'C')
),

off_book as (
    select
        gone.loan_id,
        gone.customer_id,
        previous.product,
        'GONE' as status,
        0 as dpd,
        null as loan_class,
        null::date as oldest_unpaid_due_date,
        0 as overdue_installments,
        0::decimal(18,2) as overdue_amount,
        0::decimal(18,2) as overdue_principal_amount,
        0::decimal(18,2) as outstanding_principal,
        coalesce(previous.paid_to_date_amount, 0) as paid_to_date_amount,
        previous.last_payment_date,
        previous.date_opened as origination_date,
        previous.principal_amount,
        previous.terms_duration as periods,
        0 as remaining_periods,
        0 as principal_31_60,
        0 as principal_61_90,
        0 as principal_91_180,
        0 as principal_180_plus,
        0 as due_this_month,
        0 as paid_on_installments_this_month,
        previous.last_payment_amount,
        gone.last_seen_date as gone_since,
    from gone
    left join previous
        on previous.loan_id = gone.loan_id
),

reported as (
    select * from on_book
    union all by name
    select * from off_book
),

-- disputes open at the reporting night: a DISPUTE hold in force, or a DISPUTE outcome within
-- dispute_days that the holds dataset has not taken over (as when deciding, section 9)
holds as (
    select customer_id, loan_id, kind, start_date, end_date
    from work.stg_holds
),

dispute_holds as (
    select customer_id, loan_id
    from holds
    where kind = 'DISPUTE'
      and start_date <= $snapshot_date
      and (end_date is null or end_date >= $snapshot_date)
),

dispute_outcomes as (
    select outcomes.customer_id
    from (
        select
            customer_id,
            timezone($default_timezone, occurred_at)::date as occurred_date,
        from work.outcome_state
        where outcome = 'DISPUTE'
    ) as outcomes
    anti join holds
        on holds.customer_id = outcomes.customer_id
        and (
            (holds.kind = 'DISPUTE'
             and (holds.end_date is null or holds.end_date >= outcomes.occurred_date))
            or (holds.kind <> 'DISPUTE' and holds.start_date >= outcomes.occurred_date)
        )
    where $dispute_days::integer > 0
      and outcomes.occurred_date <= $snapshot_date
      and outcomes.occurred_date + $dispute_days::integer >= $snapshot_date
),

classified as (
    select
        reported.*,
        reported.status in ('CLOSED', 'GONE') as is_closed,
        reported.status in ('CHARGED_OFF', 'WRITTEN_OFF') as is_charged_off,
        -- PBOC month character
        case
            when reported.status in ('CLOSED', 'GONE') then 'C'
            when reported.status in ('CHARGED_OFF', 'WRITTEN_OFF') then 'B'
            when reported.dpd > 0 then least(7, ceil(reported.dpd / 30))::integer::varchar
            when reported.due_this_month > 0 then 'N'
            else '*'
        end as status_char,
        -- Metro 2 payment history code of this month: 30-day bands from 30 dpd
        case
            when reported.dpd < 30 then '0'
            else least(6, reported.dpd // 30)::varchar
        end as month_code,
        (
            exists (
                select 1 from dispute_holds
                where dispute_holds.customer_id = reported.customer_id
                  and (dispute_holds.loan_id is null or dispute_holds.loan_id = reported.loan_id)
            )
            or reported.customer_id in (select customer_id from dispute_outcomes)
        ) as is_disputed,
    from reported
),

final as (
    select
        months.month as report_month,
        $snapshot_date::date as snapshot_date,
        c.loan_id,
        c.customer_id,
        c.product,
        c.status,
        c.dpd,
        c.status_char,
        case
            when previous.loan_id is not null then right(
                previous.repayment_status_24m || repeat('#', months.gap - 1) || c.status_char, 24
            )
            else repeat('/', greatest(23 - c.open_before, 0))
                || repeat('#', least(c.open_before, 23)) || c.status_char
        end as repayment_status_24m,
        c.overdue_installments as overdue_periods,
        c.overdue_amount as overdue_total,
        c.overdue_principal_amount as overdue_principal,
        c.principal_31_60::decimal(18,2) as overdue_principal_31_60,
        c.principal_61_90::decimal(18,2) as overdue_principal_61_90,
        c.principal_91_180::decimal(18,2) as overdue_principal_91_180,
        c.principal_180_plus::decimal(18,2) as overdue_principal_180_plus,
        case c.loan_class
            when 'NORMAL' then 1
            when 'SPECIAL_MENTION' then 2
            when 'SUBSTANDARD' then 3
            when 'DOUBTFUL' then 4
            when 'LOSS' then 5
            else coalesce(previous.five_category, 1)
        end as five_category,
        c.outstanding_principal as balance,
        coalesce(c.remaining_periods, 0)::integer as remaining_periods,
        c.due_this_month::decimal(18,2) as due_this_month,
        -- since the previous report when there is one; else what the month's payments touched
        case
            when previous.loan_id is not null
                then greatest(c.paid_to_date_amount - previous.paid_to_date_amount, 0)
            else c.paid_on_installments_this_month
        end::decimal(18,2) as paid_this_month,
        c.paid_to_date_amount::decimal(18,2) as paid_to_date_amount,
        c.last_payment_date,
        c.last_payment_amount::decimal(18,2) as last_payment_amount,
        c.origination_date as date_opened,
        c.principal_amount,
        coalesce(c.periods, 0)::integer as terms_duration,
        c.account_status,
        case when c.account_status in ('13', '97') then c.month_code end as payment_rating,
        case
            when previous.loan_id is not null then right(
                previous.metro2_history_24m || repeat('D', months.gap - 1) || c.month_code, 24
            )
            else repeat('B', greatest(23 - c.open_before, 0))
                || repeat('D', least(c.open_before, 23)) || c.month_code
        end as metro2_history_24m,
        -- the 24 months before this one, the previous month first
        reverse(
            case
                when previous.loan_id is not null then right(
                    previous.metro2_history_24m || repeat('D', months.gap - 1), 24
                )
                else repeat('B', greatest(24 - c.open_before, 0))
                    || repeat('D', least(c.open_before, 24))
            end
        ) as payment_history_profile,
        case
            when c.account_status in ('11', '13') then 0
            else c.overdue_amount
        end::decimal(18,2) as amount_past_due,
        -- kept while the account stays delinquent from month to month, cleared when it cures
        case
            when c.account_status in ('11', '13') then null
            when previous.first_delinquency_date is not null and months.gap = 1
                then previous.first_delinquency_date
            else coalesce(c.oldest_unpaid_due_date + 1, $snapshot_date::date)
        end as first_delinquency_date,
        case
            when c.status = 'GONE' then c.gone_since
            when c.status = 'CLOSED' then coalesce(c.last_payment_date, $snapshot_date::date)
        end as date_closed,
        case
            when c.account_status = '97'
                then coalesce(previous.original_charge_off_amount, c.outstanding_principal)
        end::decimal(18,2) as original_charge_off_amount,
        case when c.is_disputed then 'XB' end as compliance_condition_code,
    from (
        select
            *,
            case
                when is_closed then '13'
                when is_charged_off and outstanding_principal > 0 then '97'
                when is_charged_off then '13'
                when dpd < 30 then '11'
                when dpd < 60 then '71'
                when dpd < 90 then '78'
                when dpd < 120 then '80'
                when dpd < 150 then '82'
                when dpd < 180 then '83'
                else '84'
            end as account_status,
            -- calendar months the loan was open before this one (0: it opened this month)
            greatest(
                coalesce(
                    date_diff('month', date_trunc('month', origination_date), $report_month::date),
                    0
                ),
                0
            ) as open_before,
        from classified
    ) as c
    cross join months
    left join previous
        on previous.loan_id = c.loan_id
)

select * from final

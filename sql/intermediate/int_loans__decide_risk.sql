-- config: materialized=table, scope=customer
-- Risk score per aged loan, from the loan's own history (docs/strategy.md, "Risk score"):
--   score = w_dpd     * min(dpd, cap_dpd) / cap_dpd
--         + w_months  * months with dpd > 0 among the last 12 calendar months (this one included) / 12
--         + w_broken  * min(broken promises, cap_broken) / cap_broken
--         + w_days    * min(days since last payment, cap_days) / cap_days   (never paid: cap_days)
--         + w_balance * min(outstanding principal, cap_balance) / cap_balance
--         + w_bureau  * (  (cap_score - min(bureau score, cap_score)) / cap_score / 2
--                        + min(overdue accounts elsewhere, cap_overdue) / cap_overdue / 2)
--                       (the customer's latest bureau report on or before D; none: 0)
-- rounded to 4 decimals. With the default weights (summing to 100) it lies in 0..100.
with

today as (
    select loan_id, customer_id, dpd, outstanding_principal, last_payment_date
    from work.loan_aging
    where is_aged
),

bureau as (
    select customer_id, bureau_score, external_overdue_accounts
    from work.int_customers__bureau
),

-- the months (start dates) each loan was past due in, as of the previous night
history as (
    select state.loan_id, unnest(state.delinquent_months) as month
    from marts.loan_state as state
    semi join today
        on today.loan_id = state.loan_id
    where state.snapshot_date = $previous_snapshot_date
),

delinquent_months as (
    select loan_id, count(distinct month) as months_delinquent
    from (
        select loan_id, month from history
        where month >= date_trunc('month', $snapshot_date::date) - interval 11 month
        union all
        select loan_id, date_trunc('month', $snapshot_date::date)::date from today where dpd > 0
    )
    group by loan_id
),

broken as (
    select loan_id, count(distinct arrangement_id) as broken_promises
    from (
        select loan_id, arrangement_id from marts.arrangement_state
        where snapshot_date = $previous_snapshot_date and was_broken
        union all
        select loan_id, arrangement_id from work.arrangement_status
        where status = 'BROKEN'
    )
    group by loan_id
),

components as (
    select
        today.loan_id,
        today.dpd,
        coalesce(delinquent_months.months_delinquent, 0) as months_delinquent,
        coalesce(broken.broken_promises, 0) as broken_promises,
        coalesce($snapshot_date::date - today.last_payment_date, $cap_days_since_payment)
            as days_since_payment,
        today.outstanding_principal,
        -- greatest() skips nulls: a customer without a report is tested first
        case
            when bureau.customer_id is null then 0
            else (
                $cap_bureau_score::double
                    - least(greatest(bureau.bureau_score, 0), $cap_bureau_score)
            ) / $cap_bureau_score::double / 2
            + least(greatest(bureau.external_overdue_accounts, 0), $cap_external_overdue)
                / $cap_external_overdue::double / 2
        end as bureau_component,
    from today
    left join bureau
        on bureau.customer_id = today.customer_id
    left join delinquent_months
        on delinquent_months.loan_id = today.loan_id
    left join broken
        on broken.loan_id = today.loan_id
),

final as (
    select
        loan_id,
        months_delinquent,
        broken_promises,
        days_since_payment,
        round(
            $w_dpd::double * least(greatest(dpd, 0), $cap_dpd) / $cap_dpd::double
            + $w_months_delinquent::double * least(months_delinquent, 12) / 12.0
            + $w_broken_promises::double * least(broken_promises, $cap_broken_promises)
                / $cap_broken_promises::double
            + $w_days_since_payment::double
                * least(greatest(days_since_payment, 0), $cap_days_since_payment)
                / $cap_days_since_payment::double
            + $w_balance::double
                * least(outstanding_principal::double, $cap_balance::double)
                / $cap_balance::double
            + $w_bureau::double * bureau_component,
            4
        )::decimal(9,4) as risk_score,
    from components
)

select * from final

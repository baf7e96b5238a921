-- config: materialized=table, scope=customer
-- One row per aged loan: its stage (the first stage, top down, whose conditions hold, under the
-- customer's variant), its risk score (the saved model's when risk.model names one, else the
-- weighted score), and what its arrangements say about tomorrow.
with

loans as (
    select *
    from work.loan_aging
    where is_aged
),

customers as (
    select * from work.int_customers__decide
),

stages as (
    select * from work.strategy_stages
),

channel_history as (
    select * from work.int_customers__decide_channel_history
),

risk as (
    select * from work.int_loans__decide_risk
),

bureau as (
    select customer_id, bureau_score
    from work.int_customers__bureau
),

-- the saved model's scores when the strategy names one (risk.model); empty otherwise
model_scores as (
    select * from work.strategy_model_scores
),

arrangement_status as (
    select * from work.arrangement_status
),

broken_before as (
    select arrangement_id
    from work.int_arrangements__measured
    where was_broken_before
),

-- not materialized: each use filters the schedule (a few due dates, a few loans) while it is
-- scanned, instead of writing out the unpaid amount of every installment of the book first
installments as not materialized (
    select
        loan_id,
        due_date,
        greatest(
            (principal_due + interest_due + fees_due) - (principal_paid + interest_paid + fees_paid),
            0
        ) as unpaid_amount,
    from work.stg_installments
),

-- installments with an unpaid amount falling due on snapshot date + a stage's due_in_days
pre_due_installments as (
    select installments.loan_id, installments.due_date
    from installments
    where installments.unpaid_amount > 0
      and installments.due_date in (
          select $snapshot_date::date + due_in_days from stages where due_in_days is not null
      )
),

-- the loan-level conditions first (cheap, and they leave few rows), then the customer's
dpd_matches as (
    select
        loans.loan_id,
        loans.customer_id,
        customers.outstanding_total,
        customers.overdue_total,
        bureau.bureau_score,
        stages.*,
    from loans
    inner join customers
        on customers.customer_id = loans.customer_id
    left join bureau
        on bureau.customer_id = loans.customer_id
    inner join stages
        on stages.variant = customers.variant
        and (
            (loans.dpd >= stages.dpd_min and (stages.dpd_max is null or loans.dpd <= stages.dpd_max))
            or list_contains(stages.or_statuses, loans.status)
        )
),

stage_matches as (
    select
        dpd_matches.loan_id,
        dpd_matches.stage,
        dpd_matches.stage_rank,
        pre_due_installments.due_date as pre_due_date,
    from dpd_matches
    left join channel_history
        on channel_history.customer_id = dpd_matches.customer_id
        and channel_history.channel = dpd_matches.prior_channel
    left join pre_due_installments
        on pre_due_installments.loan_id = dpd_matches.loan_id
        and pre_due_installments.due_date = $snapshot_date::date + dpd_matches.due_in_days
    left join model_scores
        on model_scores.loan_id = dpd_matches.loan_id
    where (dpd_matches.customer_outstanding_min is null
           or dpd_matches.outstanding_total >= dpd_matches.customer_outstanding_min)
      and (dpd_matches.customer_overdue_min is null
           or dpd_matches.overdue_total >= dpd_matches.customer_overdue_min)
      and (dpd_matches.bureau_score_max is null
           or dpd_matches.bureau_score <= dpd_matches.bureau_score_max)
      and (dpd_matches.prior_channel is null
           or channel_history.first_episode_action_date
              <= $action_date::date - dpd_matches.prior_min_days)
      and (dpd_matches.due_in_days is null or pre_due_installments.due_date is not null)
      and (dpd_matches.propensity_max is null
           or model_scores.propensity <= dpd_matches.propensity_max)
),

first_match as (
    select
        loan_id,
        arg_min(stage, stage_rank) as stage,
        min(stage_rank) as stage_rank,
        arg_min(pre_due_date, stage_rank) as pre_due_date,
    from stage_matches
    group by loan_id
),

-- the installment before the pre-due one: a PRE_DUE SMS published after its due date is about
-- the pre-due installment ("once per installment")
previous_due as (
    select first_match.loan_id, max(installments.due_date) as previous_due_date
    from first_match
    inner join installments
        on installments.loan_id = first_match.loan_id
        and installments.due_date < first_match.pre_due_date
    where first_match.pre_due_date is not null
    group by first_match.loan_id
),

arrangements as (
    select
        arrangement_status.loan_id,
        bool_or(arrangement_status.status = 'ACTIVE') as has_active_arrangement,
        bool_or(
            arrangement_status.status = 'ACTIVE'
            and arrangement_status.promised_date = $action_date::date + $reminder_days_before
        ) as is_arrangement_reminder_due,
        bool_or(
            arrangement_status.status = 'BROKEN' and broken_before.arrangement_id is null
        ) as is_newly_broken,
    from arrangement_status
    left join broken_before
        on broken_before.arrangement_id = arrangement_status.arrangement_id
    group by arrangement_status.loan_id
),

final as (
    select
        loans.loan_id,
        loans.customer_id,
        customers.variant,
        first_match.stage,
        first_match.stage_rank,
        loans.dpd,
        loans.overdue_amount,
        loans.outstanding_principal,
        coalesce(model_scores.risk_score, risk.risk_score) as risk_score,
        first_match.pre_due_date,
        previous_due.previous_due_date,
        coalesce(arrangements.has_active_arrangement, false) as has_active_arrangement,
        coalesce(arrangements.is_arrangement_reminder_due, false) as is_arrangement_reminder_due,
        coalesce(arrangements.is_newly_broken, false) as is_newly_broken,
    from loans
    inner join customers
        on customers.customer_id = loans.customer_id
    left join first_match
        on first_match.loan_id = loans.loan_id
    left join previous_due
        on previous_due.loan_id = loans.loan_id
    left join risk
        on risk.loan_id = loans.loan_id
    left join model_scores
        on model_scores.loan_id = loans.loan_id
    left join arrangements
        on arrangements.loan_id = loans.loan_id
)

select * from final

-- config: materialized=table, scope=customer
-- Loan x channel: every contact the strategy would make on the action date once cadences are due,
-- with the loan-level reason it is not made (null = it goes ahead, pending the customer-level
-- checks of int_actions__decide). Sources:
--   STAGE        the customer's stage channels, for each of the customer's staged loans that is
--                not under an ACTIVE arrangement
--   ARRANGEMENT  a loan under an ACTIVE arrangement: its own stage's due channels, suppressed
--   REMINDER     the SMS reminder of an ACTIVE arrangement, the day(s) before promised_date
-- A cadence that is not yet due yields no row at all: nothing was going to happen.
-- Holds come from the holds dataset and from contact outcomes (int_customers__decide_outcome_holds:
-- a DISPUTE reported, the grace after a PROMISE), checked alike.
with

loans as (
    select * from work.int_loans__decide_stage
),

customers as (
    select * from work.int_customers__decide
),

channels as (
    select * from work.strategy_channels
),

hold_rules as (
    select * from work.strategy_holds
),

channel_history as (
    select * from work.int_customers__decide_channel_history
),

call_history as (
    select * from work.int_loans__decide_call_history
),

-- active on the action date: start_date <= A and (no end_date or end_date >= A)
holds as (
    select customer_id, loan_id, kind, start_date
    from work.stg_holds
    where start_date <= $action_date
      and (end_date is null or end_date >= $action_date)
),

-- the latest action about each loan per stage and channel: every action was published before
-- the action date, so before any pre-due date, and the latest tells whether one followed the
-- previous installment's due date
published_per_loan as (
    select loan_id, stage, channel, last_action_date as action_date
    from marts.loan_action_state
    where snapshot_date = $previous_snapshot_date
      and (stage, channel) in (
          select (stage, channel) from channels where once_per = 'installment'
      )
),

-- "once per installment": an action of the stage and channel, published after the previous
-- installment's due date and no later than the pre-due installment's, was about that installment
already_reminded as (
    select distinct loans.loan_id, published_per_loan.stage, published_per_loan.channel
    from loans
    inner join published_per_loan
        on published_per_loan.loan_id = loans.loan_id
    where loans.pre_due_date is not null
      and published_per_loan.action_date > coalesce(loans.previous_due_date, date '0001-01-01')
      and published_per_loan.action_date <= loans.pre_due_date
),

customer_stage as (
    select
        customer_id,
        arg_min(stage, stage_rank) as stage,
        bool_or(is_newly_broken) as has_newly_broken,
    from loans
    where stage is not null
      and not has_active_arrangement
    group by customer_id
),

stage_candidates as (
    select
        loans.customer_id,
        loans.loan_id,
        customer_stage.stage,
        channels.channel,
        channels.template,
        'STAGE' as source,
        case
            when channels.every_days is not null then
                -- after a BROKEN arrangement the stage applies at once, without cadence wait
                customer_stage.has_newly_broken
                or channel_history.last_action_date is null
                or channel_history.last_action_date <= $action_date::date - channels.every_days
            when channels.once_per = 'episode' then channel_history.first_episode_action_date is null
            when channels.once_per = 'installment' then
                loans.pre_due_date is not null and already_reminded.loan_id is null
        end as is_due,
    from customer_stage
    inner join loans
        on loans.customer_id = customer_stage.customer_id
        and loans.stage is not null
        and not loans.has_active_arrangement
    inner join channels
        on channels.variant = loans.variant
        and channels.stage = customer_stage.stage
    left join channel_history
        on channel_history.customer_id = loans.customer_id
        and channel_history.channel = channels.channel
    left join already_reminded
        on already_reminded.loan_id = loans.loan_id
        and already_reminded.stage = channels.stage
        and already_reminded.channel = channels.channel
),

arrangement_candidates as (
    select
        loans.customer_id,
        loans.loan_id,
        loans.stage,
        channels.channel,
        channels.template,
        'ARRANGEMENT' as source,
        case
            when channels.every_days is not null then
                channel_history.last_action_date is null
                or channel_history.last_action_date <= $action_date::date - channels.every_days
            when channels.once_per = 'episode' then channel_history.first_episode_action_date is null
            when channels.once_per = 'installment' then
                loans.pre_due_date is not null and already_reminded.loan_id is null
        end as is_due,
    from loans
    inner join channels
        on channels.variant = loans.variant
        and channels.stage = loans.stage
    left join channel_history
        on channel_history.customer_id = loans.customer_id
        and channel_history.channel = channels.channel
    left join already_reminded
        on already_reminded.loan_id = loans.loan_id
        and already_reminded.stage = channels.stage
        and already_reminded.channel = channels.channel
    where loans.has_active_arrangement
),

reminder_candidates as (
    select
        customer_id,
        loan_id,
        'ARRANGEMENT' as stage,
        'SMS' as channel,
        $reminder_template as template,
        'REMINDER' as source,
        true as is_due,
    from loans
    where is_arrangement_reminder_due
),

candidates as (
    select * from stage_candidates where is_due
    union all
    select * from arrangement_candidates where is_due
    union all
    select * from reminder_candidates
),

outcome_holds as (
    select * from work.int_customers__decide_outcome_holds
),

-- every active hold covering a loan (its own, or one on the customer), and the holds that
-- contact outcomes put on the customer
loan_holds as (
    select
        loans.loan_id,
        holds.kind,
        'HOLD_' || holds.kind as reason,
        hold_rules.hold_rank,
        hold_rules.allowed_channels,
        case
            when holds.loan_id is null then holds.kind || ' hold on the customer since ' || holds.start_date
            else holds.kind || ' hold on the loan since ' || holds.start_date
        end as detail,
    from loans
    inner join holds
        on holds.customer_id = loans.customer_id
        and (holds.loan_id is null or holds.loan_id = loans.loan_id)
    inner join hold_rules
        on hold_rules.kind = holds.kind
    union all
    select
        loans.loan_id,
        outcome_holds.kind,
        outcome_holds.reason,
        hold_rules.hold_rank,
        hold_rules.allowed_channels,
        outcome_holds.detail,
    from loans
    inner join outcome_holds
        on outcome_holds.customer_id = loans.customer_id
    inner join hold_rules
        on hold_rules.kind = outcome_holds.kind
),

blocking_holds as (
    select
        candidates.loan_id,
        candidates.channel,
        arg_min(loan_holds.kind, (loan_holds.hold_rank, loan_holds.detail)) as kind,
        arg_min(loan_holds.reason, (loan_holds.hold_rank, loan_holds.detail)) as reason,
        arg_min(loan_holds.detail, (loan_holds.hold_rank, loan_holds.detail)) as detail,
    from candidates
    inner join loan_holds
        on loan_holds.loan_id = candidates.loan_id
    where not list_contains(loan_holds.allowed_channels, candidates.channel)
    group by candidates.loan_id, candidates.channel
),

call_caps as (
    select
        loans.loan_id,
        coalesce(own.call_attempts, 0) + coalesce(shared.call_attempts, 0) as call_attempts,
        greatest(own.last_connected_date, shared.last_connected_date) as last_connected_date,
    from loans
    left join call_history as own
        on own.customer_id = loans.customer_id
        and own.loan_id = loans.loan_id
    left join call_history as shared
        on shared.customer_id = loans.customer_id
        and shared.loan_id is null
),

final as (
    select
        candidates.customer_id,
        candidates.loan_id,
        loans.variant,
        candidates.channel,
        candidates.stage,
        loans.stage as loan_stage,
        loans.stage_rank as loan_stage_rank,
        candidates.source,
        candidates.template,
        case
            when candidates.source = 'ARRANGEMENT' then 'ARRANGEMENT'
            when blocking_holds.kind is not null then blocking_holds.reason
            when candidates.channel = 'CALL' and call_caps.last_connected_date is not null then 'CAP'
            when candidates.channel = 'CALL' and call_caps.call_attempts >= $call_attempts_per_loan
                then 'CAP'
        end as reason,
        case
            when candidates.source = 'ARRANGEMENT' then 'active arrangement: no escalation'
            when blocking_holds.kind is not null then blocking_holds.detail
            when candidates.channel = 'CALL' and call_caps.last_connected_date is not null
                then 'connected call on ' || call_caps.last_connected_date
                    || ': no call for ' || $quiet_days || ' days'
            when candidates.channel = 'CALL' and call_caps.call_attempts >= $call_attempts_per_loan
                then call_caps.call_attempts || ' call attempts in ' || $period_days || ' days'
        end as detail,
        case
            when candidates.channel = 'CALL' and $call_attempts_per_loan is not null
                then $call_attempts_per_loan - call_caps.call_attempts
        end as call_attempts_remaining,
        loans.dpd,
        loans.overdue_amount,
        loans.outstanding_principal,
        loans.risk_score,
    from candidates
    inner join loans
        on loans.loan_id = candidates.loan_id
    left join blocking_holds
        on blocking_holds.loan_id = candidates.loan_id
        and blocking_holds.channel = candidates.channel
    left join call_caps
        on call_caps.loan_id = candidates.loan_id
)

select * from final

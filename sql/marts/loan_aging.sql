-- config: materialized=table, scope=customer
-- marts.loan_aging at $snapshot_date: one row per loan on the book (docs/aging.md).
with

loans as (
    select * from work.stg_loans
),

overdue as (
    select * from work.int_loans__overdue
),

previous as (
    select * from work.int_loans__previous
),

-- the principal (a card's credit limit), for utilisation (docs/models.md)
terms as (
    select loan_id, principal_amount from work.stg_loan_terms
),

buckets as (
    select label, rank, min_dpd, coalesce(max_dpd, 2147483647) as max_dpd,
    from work.cfg_buckets
),

aging_terms as (
    select label, min_dpd, coalesce(max_dpd, 2147483647) as max_dpd,
    from work.cfg_aging_terms
),

ifrs9_stages as (
    select cast(label as integer) as stage, min_dpd, coalesce(max_dpd, 2147483647) as max_dpd,
    from work.cfg_ifrs9_stages
),

loan_classes as (
    select product, label, min_dpd, coalesce(max_dpd, 2147483647) as max_dpd,
    from work.cfg_loan_classes
),

override_products as (
    select distinct product from loan_classes where product is not null
),

-- Loans that are not aged (CLOSED, WRITTEN_OFF) carry dpd 0 and no overdue amounts.
aged as (
    select
        loans.*,
        case when loans.is_aged
            then coalesce(cast($snapshot_date - overdue.oldest_unpaid_due_date as integer), 0)
            else 0
        end as dpd,
        case when loans.is_aged then overdue.oldest_unpaid_due_date end as oldest_unpaid_due_date,
        case when loans.is_aged then coalesce(overdue.overdue_installments, 0) else 0 end
            as overdue_installments,
        case when loans.is_aged then coalesce(overdue.overdue_principal_amount, 0) else 0 end
            as overdue_principal_amount,
        case when loans.is_aged then coalesce(overdue.overdue_interest_amount, 0) else 0 end
            as overdue_interest_amount,
        case when loans.is_aged then coalesce(overdue.overdue_fees_amount, 0) else 0 end
            as overdue_fees_amount,
        case when loans.is_aged then coalesce(overdue.overdue_amount, 0) else 0 end
            as overdue_amount,
        coalesce(overdue.paid_to_date_amount, 0) as paid_to_date_amount,
        case when loans.is_aged then overdue.next_due_date end as next_due_date,
        case when loans.is_aged then overdue.next_due_amount end as next_due_amount,
        overdue.last_payment_date,
        override_products.product as class_product,
    from loans
    left join overdue
        on overdue.loan_id = loans.loan_id
    left join override_products
        on override_products.product = loans.product
),

-- The range tables are joined to the few distinct (dpd, class table) pairs, not to every loan.
dpd_values as (
    select distinct dpd, class_product from aged
),

dpd_classes as (
    select
        dpd_values.dpd,
        dpd_values.class_product,
        buckets.label as bucket,
        buckets.rank as bucket_rank,
        aging_terms.label as aging_term,
        loan_classes.label as loan_class,
        ifrs9_stages.stage as ifrs9_stage,
    from dpd_values
    inner join buckets
        on dpd_values.dpd between buckets.min_dpd and buckets.max_dpd
    inner join aging_terms
        on dpd_values.dpd between aging_terms.min_dpd and aging_terms.max_dpd
    inner join ifrs9_stages
        on dpd_values.dpd between ifrs9_stages.min_dpd and ifrs9_stages.max_dpd
    inner join loan_classes
        on loan_classes.product is not distinct from dpd_values.class_product
        and dpd_values.dpd between loan_classes.min_dpd and loan_classes.max_dpd
),

classified as (
    select
        aged.*,
        dpd_classes.bucket,
        dpd_classes.bucket_rank,
        dpd_classes.aging_term,
        dpd_classes.loan_class,
        dpd_classes.ifrs9_stage,
    from aged
    inner join dpd_classes
        on dpd_classes.dpd = aged.dpd
        and dpd_classes.class_product is not distinct from aged.class_product
),

final as (
    select
        classified.snapshot_date,
        classified.loan_id,
        classified.customer_id,
        classified.product,
        classified.branch,
        classified.currency,
        classified.status,
        classified.is_aged,
        classified.dpd,
        classified.bucket,
        previous.previous_bucket,
        previous.previous_snapshot_date,
        classified.aging_term,
        classified.loan_class,
        classified.ifrs9_stage,
        case
            when not classified.is_aged then 'CLOSED'
            when previous.loan_id is null then 'NEW'
            when previous.previous_bucket_rank > 0 and classified.bucket_rank = 0 then 'CURE'
            when classified.bucket_rank > previous.previous_bucket_rank then 'ROLL_FORWARD'
            when classified.bucket_rank < previous.previous_bucket_rank then 'ROLL_BACK'
            else 'STAY'
        end as transition,
        classified.oldest_unpaid_due_date,
        cast(classified.overdue_installments as integer) as overdue_installments,
        cast(classified.overdue_principal_amount as decimal(18,2)) as overdue_principal_amount,
        cast(classified.overdue_interest_amount as decimal(18,2)) as overdue_interest_amount,
        cast(classified.overdue_fees_amount as decimal(18,2)) as overdue_fees_amount,
        cast(classified.overdue_amount as decimal(18,2)) as overdue_amount,
        classified.outstanding_principal,
        cast(classified.paid_to_date_amount as decimal(18,2)) as paid_to_date_amount,
        classified.next_due_date,
        cast(classified.next_due_amount as decimal(18,2)) as next_due_amount,
        classified.last_payment_date,
        classified.source_dpd,
        coalesce(
            classified.is_aged and classified.source_dpd is not null
                and classified.source_dpd <> classified.dpd,
            false
        ) as has_source_dpd_mismatch,
        terms.principal_amount,
    from classified
    left join previous
        on previous.loan_id = classified.loan_id
    left join terms
        on terms.loan_id = classified.loan_id
)

select * from final

-- config: materialized=view, scope=customer
-- Loans on the book at the end of D: work.loans holds the snapshot of D only (checked by
-- build_aging), so this model needs no parameter and is a view.
-- CLOSED and WRITTEN_OFF loans are kept but not aged (docs/aging.md).
with

source as (
    select * from work.loans
),

final as (
    select
        snapshot_date,
        loan_id,
        customer_id,
        product,
        branch,
        currency,
        status,
        status not in ('CLOSED', 'WRITTEN_OFF') as is_aged,
        cast(outstanding_principal as decimal(18,2)) as outstanding_principal,
        source_dpd,
    from source
)

select * from final

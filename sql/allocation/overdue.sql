-- Customers with an aged loan past due tonight: the others have paid (or left the book).
select distinct customer_id
from work.loan_aging
where is_aged and dpd > 0

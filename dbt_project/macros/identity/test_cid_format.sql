{#- A CID is 'CID' followed by 12 upper-case hexadecimal characters. -#}
{% test cid_format(model, column_name) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} !~ '^CID[0-9A-F]{12}$'
{% endtest %}

{#- A person ID is 'PID' followed by 12 upper-case hexadecimal characters. -#}
{% test person_id_format(model, column_name) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} !~ '^PID[0-9A-F]{12}$'
{% endtest %}

DROP TABLE correspondence_facts;

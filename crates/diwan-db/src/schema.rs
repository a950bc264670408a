//! The diesel schema shared by both backends (see `migrations/`).

diesel::table! {
    administrations (id) {
        id -> Text,
        code -> Text,
        name_ar -> Text,
        name_fr -> Text,
        name_en -> Nullable<Text>,
    }
}

diesel::table! {
    units (id) {
        id -> Text,
        administration_id -> Text,
        parent_id -> Nullable<Text>,
        code -> Text,
        name_ar -> Text,
        name_fr -> Text,
        level -> Text,
        territory_code -> Nullable<Text>,
        contact -> Nullable<Text>,
        name_en -> Nullable<Text>,
    }
}

diesel::table! {
    registries (id) {
        id -> Text,
        unit_id -> Text,
        code -> Text,
        name_ar -> Text,
        name_fr -> Text,
        numbering_format -> Text,
    }
}

diesel::table! {
    agents (id) {
        id -> Text,
        email -> Text,
        display_name -> Text,
        password_hash -> Nullable<Text>,
        active -> Bool,
        created_at -> Text,
    }
}

diesel::table! {
    agent_grants (id) {
        id -> Text,
        agent_id -> Text,
        unit_id -> Nullable<Text>,
        role -> Text,
    }
}

diesel::table! {
    tokens (id) {
        id -> Text,
        secret_hash -> Text,
        agent_id -> Text,
        kind -> Text,
        name -> Text,
        created_at -> Text,
        expires_at -> Text,
        revoked_at -> Nullable<Text>,
    }
}

diesel::table! {
    register_counters (registry_id, direction, year) {
        registry_id -> Text,
        direction -> Text,
        year -> Integer,
        last_seq -> BigInt,
    }
}

diesel::table! {
    correspondences (id) {
        id -> Text,
        registry_id -> Text,
        direction -> Text,
        year -> Integer,
        seq -> BigInt,
        registration_number -> Text,
        channel -> Text,
        subject -> Text,
        sender -> Text,
        recipient -> Text,
        sender_name -> Text,
        recipient_name -> Text,
        confidentiality -> Text,
        priority -> Text,
        category -> Nullable<Text>,
        sender_reference -> Nullable<Text>,
        sender_date -> Nullable<Text>,
        received_at -> Text,
        registered_at -> Text,
        registered_by -> Text,
        tracking_hash -> Text,
        search_text -> Text,
        annulled_at -> Nullable<Text>,
        annulled_by -> Nullable<Text>,
        annul_reason -> Nullable<Text>,
        status -> Text,
        in_reply_to -> Nullable<Text>,
    }
}

diesel::table! {
    correspondence_files (id) {
        id -> Text,
        correspondence_id -> Text,
        position -> Integer,
        name -> Text,
        media_type -> Text,
        size -> BigInt,
        sha256 -> Text,
        text_status -> Nullable<Text>,
        text_attempts -> Integer,
        text_lease_until -> Nullable<Text>,
        pdf_pages -> Nullable<Integer>,
        pdf_problems -> Nullable<Text>,
    }
}

diesel::table! {
    correspondence_units (correspondence_id, unit_id, concern) {
        correspondence_id -> Text,
        unit_id -> Text,
        concern -> Text,
    }
}

diesel::table! {
    correspondence_events (id) {
        id -> Text,
        correspondence_id -> Text,
        at -> Text,
        kind -> Text,
        actor_id -> Nullable<Text>,
        detail -> Text,
    }
}

diesel::table! {
    assignments (id) {
        id -> Text,
        correspondence_id -> Text,
        unit_id -> Text,
        agent_id -> Nullable<Text>,
        purpose -> Text,
        instructions -> Nullable<Text>,
        due_date -> Text,
        assigned_at -> Text,
        assigned_by -> Text,
        event_id -> Text,
        ended_at -> Nullable<Text>,
        ended_event_id -> Nullable<Text>,
    }
}

diesel::table! {
    routing_rules (id) {
        id -> Text,
        registry_id -> Text,
        position -> Integer,
        name -> Text,
        conditions -> Text,
        target_unit_id -> Nullable<Text>,
        active -> Bool,
        created_at -> Text,
        created_by -> Text,
    }
}

diesel::table! {
    delegations (id) {
        id -> Text,
        agent_id -> Text,
        substitute_id -> Text,
        starts_on -> Text,
        ends_on -> Text,
        created_at -> Text,
        revoked_at -> Nullable<Text>,
    }
}

diesel::table! {
    reminders (assignment_id, step) {
        assignment_id -> Text,
        step -> Text,
        created_at -> Text,
    }
}

diesel::joinable!(units -> administrations (administration_id));
diesel::joinable!(assignments -> correspondences (correspondence_id));
diesel::joinable!(registries -> units (unit_id));
diesel::joinable!(correspondences -> registries (registry_id));
diesel::joinable!(correspondence_files -> correspondences (correspondence_id));

diesel::allow_tables_to_appear_in_same_query!(
    administrations,
    units,
    registries,
    agents,
    agent_grants,
    tokens,
    register_counters,
    correspondences,
    correspondence_files,
    correspondence_units,
    correspondence_events,
    assignments,
    reminders,
    log_leaves,
);

diesel::table! {
    blob_packs (sha256) {
        sha256 -> Text,
        segment -> Text,
        pack_offset -> BigInt,
        pack_length -> BigInt,
    }
}

diesel::table! {
    pki_objects (slot) {
        slot -> Text,
        role -> Text,
        registry_id -> Nullable<Text>,
        serial -> Text,
        certificate -> Text,
        chain -> Text,
        sealed_key -> Text,
        created_at -> Text,
        revoked_at -> Nullable<Text>,
    }
}

diesel::table! {
    log_state (id) {
        id -> Integer,
        size -> BigInt,
        frontier -> Text,
    }
}

diesel::table! {
    log_leaves (idx) {
        idx -> BigInt,
        kind -> Text,
        correspondence_id -> Nullable<Text>,
        event_id -> Nullable<Text>,
        leaf_hash -> Text,
        document_id -> Nullable<Text>,
        parapheur_event_id -> Nullable<Text>,
    }
}

diesel::table! {
    log_heads (tree_size) {
        tree_size -> BigInt,
        root_hash -> Text,
        issued_at -> Text,
        jws -> Text,
    }
}

diesel::table! {
    receipts (correspondence_id, kind) {
        correspondence_id -> Text,
        kind -> Text,
        leaf_index -> BigInt,
        issued_at -> Text,
        jws -> Text,
        pdf_sha256 -> Nullable<Text>,
    }
}

diesel::table! {
    mail_outbox (id) {
        id -> Text,
        correspondence_id -> Text,
        receipt_kind -> Text,
        recipient -> Text,
        created_at -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Text,
        lease_until -> Nullable<Text>,
        last_error -> Nullable<Text>,
        sent_at -> Nullable<Text>,
    }
}

diesel::table! {
    email_challenges (id) {
        id -> Text,
        email -> Text,
        code_hash -> Text,
        created_at -> Text,
        expires_at -> Text,
        attempts -> Integer,
        used_at -> Nullable<Text>,
    }
}

diesel::table! {
    document_texts (correspondence_id, file_sha256, source) {
        correspondence_id -> Text,
        file_sha256 -> Text,
        source -> Text,
        body -> Text,
        created_at -> Text,
    }
}

diesel::table! {
    dossiers (correspondence_id) {
        correspondence_id -> Text,
        sha256 -> Text,
        size -> BigInt,
        pages -> Integer,
        made_at -> Text,
    }
}

diesel::joinable!(dossiers -> correspondences (correspondence_id));
diesel::allow_tables_to_appear_in_same_query!(dossiers, correspondences);
diesel::allow_tables_to_appear_in_same_query!(parapheur_events, log_leaves);

diesel::table! {
    exchanges (id) {
        id -> Text,
        correspondence_id -> Text,
        way -> Text,
        message_id -> Text,
        peer -> Text,
        unit_code -> Text,
        state -> Text,
        attempts -> Integer,
        next_attempt_at -> Nullable<Text>,
        lease_until -> Nullable<Text>,
        last_error -> Nullable<Text>,
        envelope -> Nullable<Text>,
        ack_jws -> Nullable<Text>,
        remote_number -> Nullable<Text>,
        created_at -> Text,
        updated_at -> Text,
    }
}

diesel::table! {
    signing_sessions (id) {
        id -> Text,
        agent_id -> Text,
        prepared_sha256 -> Text,
        byte_range -> Text,
        content_digest -> Text,
        serial -> Text,
        created_at -> Text,
        expires_at -> Text,
    }
}

diesel::table! {
    circuit_templates (id) {
        id -> Text,
        administration_id -> Text,
        document_type -> Text,
        name -> Text,
        stages -> Text,
        updated_at -> Text,
    }
}

diesel::table! {
    parapheur_documents (id) {
        id -> Text,
        title -> Text,
        document_type -> Nullable<Text>,
        administration_id -> Text,
        submitted_by -> Text,
        submitted_at -> Text,
        status -> Text,
        file_name -> Text,
        current_sha256 -> Text,
        version -> Integer,
        updated_at -> Text,
        outgoing -> Nullable<Text>,
        registry_id -> Nullable<Text>,
        reserved_year -> Nullable<Integer>,
        reserved_seq -> Nullable<BigInt>,
        registration_number -> Nullable<Text>,
        correspondence_id -> Nullable<Text>,
    }
}

diesel::table! {
    parapheur_steps (id) {
        id -> Text,
        document_id -> Text,
        stage -> Integer,
        position -> Integer,
        kind -> Text,
        agent_id -> Nullable<Text>,
        unit_id -> Nullable<Text>,
        role -> Nullable<Text>,
        state -> Text,
        acted_by -> Nullable<Text>,
        acted_at -> Nullable<Text>,
        comment -> Nullable<Text>,
    }
}

diesel::table! {
    parapheur_events (id) {
        id -> Text,
        document_id -> Text,
        at -> Text,
        actor_id -> Text,
        kind -> Text,
        detail -> Text,
    }
}

diesel::table! {
    correspondence_facts (correspondence_id) {
        correspondence_id -> Text,
        unit_id -> Text,
        direction -> Text,
        channel -> Text,
        category -> Nullable<Text>,
        registered_at -> Text,
        legal_due_at -> Nullable<Text>,
        answered_at -> Nullable<Text>,
        closed_at -> Nullable<Text>,
        processing_seconds -> Nullable<BigInt>,
        on_time -> Nullable<Integer>,
        resolved_at -> Nullable<Text>,
    }
}

diesel::table! {
    indicator_days (unit_id, measure, day, channel, category) {
        unit_id -> Text,
        measure -> Text,
        day -> Text,
        channel -> Text,
        category -> Text,
        n -> Integer,
    }
}

diesel::table! {
    open_data_months (month) {
        month -> Text,
        published_at -> Text,
    }
}

diesel::table! {
    open_data_cells (month, administration_id, category, channel) {
        month -> Text,
        administration_id -> Text,
        category -> Text,
        channel -> Text,
        received -> BigInt,
        answered -> BigInt,
        median_delay_seconds -> Nullable<BigInt>,
        deadline_known -> BigInt,
        on_time -> BigInt,
    }
}

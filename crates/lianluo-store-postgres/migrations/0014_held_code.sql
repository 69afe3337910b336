-- Why a passage is held, as a code beside the English sentence, so that screens say it in the reader's
-- language without reading the sentence; passages held before get the code their sentence starts with.
ALTER TABLE kb_chunks ADD COLUMN held_code TEXT;
UPDATE kb_chunks SET held_code = CASE
    WHEN held LIKE 'addressed to an AI assistant%' THEN 'addressed_to_assistant'
    WHEN held LIKE 'written as an AI or system turn%' THEN 'assistant_turn'
    WHEN held LIKE 'tries to change the assistant%' THEN 'changes_behaviour'
    WHEN held LIKE 'marked internal-only%' THEN 'internal_only'
    WHEN held LIKE 'looks like internal pricing%' THEN 'internal_pricing'
    WHEN held LIKE 'a discount or voucher code%' THEN 'voucher'
    WHEN held LIKE 'contains a private key%' THEN 'private_key'
    WHEN held LIKE 'looks like an API key or token%' THEN 'api_key'
    WHEN held LIKE 'contains a login and password%' THEN 'login_in_address'
    WHEN held LIKE 'looks like a password%' THEN 'password'
END
WHERE held IS NOT NULL;

SELECT 'unterminated;
$$ also $tag$ ; 
-- only a comment